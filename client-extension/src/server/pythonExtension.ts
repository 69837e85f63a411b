/**
 * The interpreter selected in the Python extension, through its published API (`@vscode/python-extension`),
 * and a signal when the selection changes so the server restarts on the new one.
 */
import { PVSC_EXTENSION_ID, PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';

/** The Python extension can take long to activate; the server should not wait on it forever. */
const ACTIVATION_TIMEOUT_MS = 15_000;

async function api(): Promise<PythonExtension | undefined> {
  // PythonExtension.api() throws when the extension is missing; asking first keeps that the quiet, common case.
  if (!vscode.extensions.getExtension(PVSC_EXTENSION_ID)) return undefined;
  return Promise.race([
    PythonExtension.api(),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ACTIVATION_TIMEOUT_MS)),
  ]);
}

export async function pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string | undefined> {
  try {
    const python = await api();
    if (!python) return undefined;
    const active = python.environments.getActiveEnvironmentPath(resource);
    const resolved = await python.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch {
    // A broken or half-activated Python extension must not stop our server: fall through to the next candidate.
    return undefined;
  }
}

/** Calls `changed` whenever the user selects another interpreter in the Python extension. */
export async function onInterpreterChange(changed: () => void): Promise<vscode.Disposable> {
  try {
    const python = await api();
    if (python) return python.environments.onDidChangeActiveEnvironmentPath(() => changed());
  } catch {
    // no Python extension API: nothing to follow
  }
  return new vscode.Disposable(() => undefined);
}
