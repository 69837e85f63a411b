/**
 * Asks the Python extension (if installed) which interpreter the user selected.
 *
 * Only the few members used here are typed: the extension's API is large and optional for us.
 */
import * as vscode from 'vscode';

interface ResolvedEnvironment { executable: { uri?: vscode.Uri } }
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<ResolvedEnvironment | undefined>;
  };
  settings?: {
    getExecutionDetails(resource?: vscode.Uri): { execCommand: string[] | undefined };
  };
}

const PYTHON_EXTENSION_ID = 'ms-python.python';
/** The Python extension can take long to activate; the server should not wait on it forever. */
const ACTIVATION_TIMEOUT_MS = 15_000;

export async function pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (!extension) return undefined;
  try {
    const api = extension.isActive
      ? extension.exports
      : await Promise.race([
          extension.activate(),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ACTIVATION_TIMEOUT_MS)),
        ]);
    if (!api) return undefined;
    if (api.environments) {
      const active = api.environments.getActiveEnvironmentPath(resource);
      const resolved = await api.environments.resolveEnvironment(active);
      const executable = resolved?.executable.uri?.fsPath;
      if (executable) return executable;
    }
    // Older releases only expose the execution command.
    return api.settings?.getExecutionDetails(resource).execCommand?.[0];
  } catch {
    // A broken or half-activated Python extension must not stop our server: fall through.
    return undefined;
  }
}
