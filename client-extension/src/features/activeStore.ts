/**
 * Which store the user is looking at: the active editor if it shows a `.astra/*.jsonl` file.
 * Sets the `astra.storeActive` context key that menus use.
 */
import * as vscode from 'vscode';
import { isStorePath, storeNameOf } from '../core/stores';

export interface StoreRef {
  /** What the server is given as `store`: the file URI, unambiguous across workspace folders. */
  readonly uri: string;
  readonly name: string;
}

export function storeRefOf(uri: vscode.Uri): StoreRef | undefined {
  // astra-remote://<remote>/<stream>: the stream is the store's name.
  if (uri.scheme === 'astra-remote') {
    const stream = uri.path.split('/').filter((p) => p !== '').pop();
    return stream ? { uri: uri.toString(), name: stream.replace(/\.jsonl$/, '') } : undefined;
  }
  if (uri.scheme !== 'file' || !isStorePath(uri.fsPath)) return undefined;
  return { uri: uri.toString(), name: storeNameOf(uri.fsPath) };
}

/** The active editor's store and the cursor's 1-based line; undefined, after telling the user, when it shows no store. */
export function storeAtCursor(): { store: StoreRef; line: number } | undefined {
  const editor = vscode.window.activeTextEditor;
  const store = editor && storeRefOf(editor.document.uri);
  if (!editor || !store) {
    void vscode.window.showInformationMessage('Astra: put the cursor on a line of a store (.astra/*.jsonl) first.');
    return undefined;
  }
  return { store, line: editor.selection.active.line + 1 };
}

/** Server URIs and editor URIs may differ in escaping; compare them in one canonical form. */
export function sameUri(a: string, b: string): boolean {
  return vscode.Uri.parse(a).toString() === vscode.Uri.parse(b).toString();
}

export class ActiveStore implements vscode.Disposable {
  private current: StoreRef | undefined;
  private readonly changed = new vscode.EventEmitter<StoreRef | undefined>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.window.onDidChangeActiveTextEditor((editor) => this.update(editor));
    this.update(vscode.window.activeTextEditor);
  }

  get store(): StoreRef | undefined {
    return this.current;
  }

  private update(editor: vscode.TextEditor | undefined): void {
    // Focus moving to a panel or a virtual document keeps the last store: the views still refer to it.
    const scheme = editor?.document.uri.scheme;
    if (editor && (scheme === 'file' || scheme === 'astra-remote')) {
      this.current = storeRefOf(editor.document.uri);
      this.changed.fire(this.current);
    } else if (!this.current) {
      this.changed.fire(undefined);
    }
    void vscode.commands.executeCommand('setContext', 'astra.storeActive', editor ? storeRefOf(editor.document.uri) !== undefined : false);
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
