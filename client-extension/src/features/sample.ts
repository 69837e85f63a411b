/**
 * The walkthrough's first step: a fresh copy of the sample workspace (shipped in the extension), opened
 * in a new window. A copy, so the broken lines the sample holds on purpose are there every time.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';

export async function openSample(context: vscode.ExtensionContext): Promise<void> {
  const source = path.join(context.extensionPath, 'sample-workspace');
  const target = path.join(context.globalStorageUri.fsPath, 'sample-workspace');
  await fs.rm(target, { recursive: true, force: true });
  await fs.mkdir(context.globalStorageUri.fsPath, { recursive: true });
  await fs.cp(source, target, { recursive: true });
  await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(target), { forceNewWindow: true });
}
