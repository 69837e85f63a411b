/**
 * Installs astra-ls into a private virtual environment in the extension's global storage, for
 * users whose interpreters do not have it. The environment is only created on request.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DEFAULT_PYTHON, installSteps, interpreterCandidates, pickWheel, venvPython } from '../core/launch';
import { run } from './processes';
import { pythonExtensionInterpreter } from './pythonExtension';

function venvDir(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'server-venv');
}

/** The private interpreter, if an earlier install created it. */
export async function existingPrivatePython(context: vscode.ExtensionContext): Promise<string | undefined> {
  const python = venvPython(venvDir(context), process.platform);
  try {
    await fs.access(python);
    return python;
  } catch {
    return undefined;
  }
}

async function bundledWheel(context: vscode.ExtensionContext): Promise<string | undefined> {
  const dir = path.join(context.extensionPath, 'server-wheel');
  try {
    const wheel = pickWheel(await fs.readdir(dir));
    return wheel ? path.join(dir, wheel) : undefined;
  } catch {
    return undefined;
  }
}

/** Creates the environment and installs the server; resolves true on success. */
export async function installPrivateServer(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): Promise<boolean> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration('astra.server');
  // The venv is built from the interpreter the user would otherwise run, so its Python version matches.
  const base =
    interpreterCandidates({
      configuredPython: config.get<string>('python'),
      pythonExtensionInterpreter: await pythonExtensionInterpreter(folder?.uri),
      privateEnvironmentPython: undefined,
      home: os.homedir(),
      workspaceFolder: folder?.uri.fsPath,
    })[0]?.command ?? DEFAULT_PYTHON;
  const wheel = config.get<string>('installSource') === 'index' ? undefined : await bundledWheel(context);
  await fs.mkdir(context.globalStorageUri.fsPath, { recursive: true });
  const steps = installSteps(base, venvDir(context), wheel, process.platform);
  output.show(true);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Astra', cancellable: false },
    async (progress) => {
      for (const step of steps) {
        progress.report({ message: `${step.title}…` });
        const code = await run(step.command, step.args, (line) => output.info(line));
        if (code !== 0) {
          void vscode.window
            .showErrorMessage(`Astra: ${step.title.toLowerCase()} failed (exit code ${code}). The output has the details.`, 'Show Output')
            .then((c) => c && output.show());
          return false;
        }
      }
      void vscode.window.showInformationMessage('Astra: astra-ls is installed in a private environment; starting the server.');
      return true;
    },
  );
}
