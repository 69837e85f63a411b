/**
 * Append Event: pick a store and an event type, edit a prefilled draft, and append it once the
 * server accepts it. A refused draft gets one diagnostic per field error and nothing is written.
 */
import * as vscode from 'vscode';
import { fieldErrors, locateField, pathLabel, pathSegments } from '../core/errorPaths';
import { type AppendAnswer, type SchemaAnswer, ServerCommand } from '../core/protocol';
import { draftText, parseDraft } from '../core/skeleton';
import { errorText, ServerFailure, type ServerSession } from '../server/session';
import type { ActiveStore, StoreRef } from './activeStore';
import { pickStore } from './storePicker';

interface Draft {
  readonly store: StoreRef;
  readonly type: string;
}

export class EventDrafts implements vscode.Disposable, vscode.CodeLensProvider {
  private readonly drafts = new Map<string, Draft>();
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('astra-draft');
  private readonly disposables: { dispose(): unknown }[] = [];
  private readonly lensesChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor(
    private readonly session: ServerSession,
    private readonly active: ActiveStore,
  ) {
    this.disposables.push(
      this.diagnostics,
      this.lensesChanged,
      vscode.languages.registerCodeLensProvider({ scheme: 'untitled' }, this),
      vscode.window.onDidChangeActiveTextEditor((e) => this.updateContext(e)),
      vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc.uri)),
    );
  }

  /** Palette command: store → type → draft editor. */
  async start(argument?: unknown): Promise<void> {
    const store = await pickStore(this.session, this.active, 'Append Event', argument);
    if (!store) return;
    const schema = await this.session.execute<SchemaAnswer>(ServerCommand.schemaFor, { store: store.uri });
    if (schema.types.length === 0) {
      void vscode.window.showWarningMessage(`Astra: the schema of "${store.name}" declares no event types.`);
      return;
    }
    const picked = await vscode.window.showQuickPick(
      schema.types.map((t) => ({
        label: t.name,
        description: t.fields.filter((f) => f.required).map((f) => f.name).join(', '),
        type: t,
      })),
      { title: `Astra: Append Event to ${store.name}`, placeHolder: `Event type (${schema.family})` },
    );
    if (!picked) return;
    const doc = await vscode.workspace.openTextDocument({ language: 'jsonc', content: draftText(store.name, picked.type) });
    this.drafts.set(doc.uri.toString(), { store, type: picked.type.name });
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    this.updateContext(editor);
    this.lensesChanged.fire();
  }

  /** Sends the draft in the active editor (or `uri`) to the server. */
  async submit(uri?: unknown): Promise<void> {
    const doc = uri instanceof vscode.Uri
      ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString())
      : vscode.window.activeTextEditor?.document;
    const draft = doc && this.drafts.get(doc.uri.toString());
    if (!doc || !draft) {
      void vscode.window.showInformationMessage('Astra: this editor is not an event draft. Start one with "Astra: Append Event".');
      return;
    }
    const text = doc.getText();
    const parsed = parseDraft(text);
    if (!parsed.ok) {
      this.diagnostics.set(doc.uri, [this.diagnostic(doc, parsed.offset, parsed.length, parsed.message)]);
      void vscode.window.showErrorMessage(`Astra: the draft is not valid JSON (${parsed.message}). Nothing was written.`);
      return;
    }
    try {
      const answer = await this.session.execute<AppendAnswer>(ServerCommand.append, { store: draft.store.uri, event: parsed.event });
      this.diagnostics.delete(doc.uri);
      this.drafts.delete(doc.uri.toString());
      await this.close(doc);
      void vscode.window.showInformationMessage(
        `Astra: appended ${draft.type} to ${draft.store.name} at line ${answer.line} (${answer.count} events).`,
      );
    } catch (e) {
      this.refused(doc, e);
    }
  }

  /** Closes the draft without a save prompt. */
  async discard(uri?: unknown): Promise<void> {
    const doc = uri instanceof vscode.Uri ? vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString()) : vscode.window.activeTextEditor?.document;
    if (doc && this.drafts.has(doc.uri.toString())) {
      this.forget(doc.uri);
      await this.close(doc);
    }
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const draft = this.drafts.get(document.uri.toString());
    if (!draft) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: `$(check) Append to ${draft.store.name}`, command: 'astra-ls.submitDraft', arguments: [document.uri] }),
      new vscode.CodeLens(top, { title: '$(close) Discard', command: 'astra-ls.discardDraft', arguments: [document.uri] }),
    ];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private refused(doc: vscode.TextDocument, e: unknown): void {
    const errors = e instanceof ServerFailure ? fieldErrors(e.failure.details) : [];
    const text = doc.getText();
    if (errors.length > 0) {
      this.diagnostics.set(
        doc.uri,
        errors.map((err) => {
          const span = locateField(text, pathSegments(err.path));
          return this.diagnostic(doc, span.offset, span.length, `${pathLabel(err.path)}: ${err.message}`);
        }),
      );
      const summary = errors.map((err) => `${pathLabel(err.path)}: ${err.message}`).join('; ');
      void vscode.window.showErrorMessage(`Astra: event refused, nothing was written. ${summary}`);
      return;
    }
    this.diagnostics.set(doc.uri, [this.diagnostic(doc, 0, 0, errorText(e))]);
    void vscode.window.showErrorMessage(`Astra: event refused, nothing was written. ${errorText(e)}`);
  }

  private diagnostic(doc: vscode.TextDocument, offset: number, length: number, message: string): vscode.Diagnostic {
    const range = new vscode.Range(doc.positionAt(offset), doc.positionAt(offset + Math.max(length, 1)));
    const d = new vscode.Diagnostic(range, message, vscode.DiagnosticSeverity.Error);
    d.source = 'astra';
    return d;
  }

  private async close(doc: vscode.TextDocument): Promise<void> {
    // An untitled document is dirty by nature; revert first so closing does not ask to save it.
    await vscode.window.showTextDocument(doc, { preview: false });
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }

  private forget(uri: vscode.Uri): void {
    if (this.drafts.delete(uri.toString())) {
      this.diagnostics.delete(uri);
      this.lensesChanged.fire();
    }
  }

  private updateContext(editor: vscode.TextEditor | undefined): void {
    const isDraft = editor !== undefined && this.drafts.has(editor.document.uri.toString());
    void vscode.commands.executeCommand('setContext', 'astra.draftActive', isDraft);
  }
}
