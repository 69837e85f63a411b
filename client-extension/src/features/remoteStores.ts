/**
 * Remote stores (`astra-remote://<remote>/<stream>`): read-only virtual documents whose text the
 * server mirrors from the remote stream (`astra/remoteDocument`). They refresh on the server's
 * `astra/storeChanged`, which it also sends when another machine appends.
 */
import * as vscode from 'vscode';
import { isFailure } from '../core/protocol';
import { errorText, type ServerSession } from '../server/session';
import { sameUri } from './activeStore';

export const REMOTE_SCHEME = 'astra-remote';
export const REMOTE_DOCUMENT_REQUEST = 'astra/remoteDocument';

interface RemoteDocumentAnswer { ok: true; uri: string; text: string; events: number; readOnly: boolean }

export class RemoteStoreDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: { dispose(): unknown }[];

  constructor(private readonly session: ServerSession) {
    this.disposables = [
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(REMOTE_SCHEME, this),
      session.onStoreChanged((e) => {
        for (const doc of vscode.workspace.textDocuments) {
          if (doc.uri.scheme === REMOTE_SCHEME && sameUri(doc.uri.toString(), e.uri)) this.changed.fire(doc.uri);
        }
      }),
    ];
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    try {
      const answer = await this.session.request<unknown>(REMOTE_DOCUMENT_REQUEST, { uri: uri.toString() });
      if (isFailure(answer)) return `// ${answer.message} (${answer.code})\n`;
      return (answer as RemoteDocumentAnswer).text;
    } catch (e) {
      return `// The remote store could not be read: ${errorText(e)}\n`;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
