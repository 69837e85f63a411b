/**
 * Installs astra-ls into a private virtual environment in the extension's global storage, for
 * users whose interpreters do not have it. A platform VSIX ships every wheel, so the install needs
 * no network; the universal VSIX installs the shipped astra-ls wheel with dependencies from the index.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  commandLine, type InterpreterCandidate, installSteps, interpreterCandidates, parseBundle, pickWheel, venvPython,
  type WheelBundle,
} from '../core/launch';
import { pythonVersion, run } from './processes';
import { pythonExtensionInterpreter } from './pythonExtension';

function venvDir(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'server-venv');
}

function shippedDir(context: vscode.ExtensionContext): string {
  return path.join(context.extensionPath, 'server-wheel');
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

/** The platform bundle this VSIX ships, if it is one. */
export async function shippedBundle(context: vscode.ExtensionContext): Promise<WheelBundle | undefined> {
  const dir = shippedDir(context);
  try {
    const manifest: unknown = JSON.parse(await fs.readFile(path.join(dir, 'bundle.json'), 'utf8'));
    return parseBundle(dir, manifest, await fs.readdir(dir));
  } catch {
    return undefined;
  }
}

async function shippedWheel(context: vscode.ExtensionContext): Promise<string | undefined> {
  try {
    const wheel = pickWheel(await fs.readdir(shippedDir(context)));
    return wheel ? path.join(shippedDir(context), wheel) : undefined;
  } catch {
    return undefined;
  }
}

/** The interpreters the environment may be built from, best first (as the server would be started). */
async function baseCandidates(): Promise<InterpreterCandidate[]> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration('astra.server');
  return interpreterCandidates({
    configuredPython: config.get<string>('python'),
    pythonExtensionInterpreter: await pythonExtensionInterpreter(folder?.uri),
    privateEnvironmentPython: undefined,
    home: os.homedir(),
    workspaceFolder: folder?.uri.fsPath,
    platform: process.platform,
  });
}

/** Creates the environment and installs the server; resolves true on success. */
export async function installPrivateServer(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): Promise<boolean> {
  const config = vscode.workspace.getConfiguration('astra.server');
  const bundle = config.get<string>('installSource') === 'index' ? undefined : await shippedBundle(context);
  // The first interpreter that runs at all; the venv gets its Python version.
  let base: InterpreterCandidate | undefined;
  let version: string | undefined;
  for (const candidate of await baseCandidates()) {
    version = await pythonVersion(candidate);
    if (version) {
      base = candidate;
      break;
    }
  }
  if (!base || !version) {
    void vscode.window.showErrorMessage('Astra: no Python interpreter was found to install the server with. Install Python 3.11 or newer, or set `astra.server.python`.');
    return false;
  }
  let source: { bundle: WheelBundle } | { wheel: string | undefined };
  if (bundle?.pythons.includes(version)) {
    source = { bundle };
  } else {
    if (bundle) output.warn(`The shipped wheels serve Python ${bundle.pythons.join(', ')}, not ${version} (${commandLine(base)}): installing from the package index.`);
    source = { wheel: config.get<string>('installSource') === 'index' ? undefined : await shippedWheel(context) };
  }
  await fs.mkdir(context.globalStorageUri.fsPath, { recursive: true });
  const steps = installSteps(base, venvDir(context), process.platform, source);
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
