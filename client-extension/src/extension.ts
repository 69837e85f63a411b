/**
 * Entry point: wires the server session to the editor features. Every rule and computation lives
 * in the server; this file only connects palette commands, views and events.
 */
import * as vscode from 'vscode';
import { ActiveStore } from './features/activeStore';
import { EventDrafts } from './features/appendEvent';
import { countEvents } from './features/countEvents';
import { compareStates } from './features/compareStates';
import { DebuggerPanel } from './features/debuggerPanel';
import { compact, quarantine } from './features/maintenance';
import { ProjectionDocuments } from './features/projection';
import { queryEvents } from './features/queryEvents';
import { RemoteStoreDocuments } from './features/remoteStores';
import { openSample } from './features/sample';
import { EventDocuments } from './features/showEvent';
import { StoreStatusBar } from './features/statusBar';
import { TimelinePanel } from './features/timelinePanel';
import { TraceDocuments } from './features/traceDecision';
import { installPrivateServer } from './server/installer';
import { onInterpreterChange } from './server/pythonExtension';
import { errorText, ServerSession, ServerUnavailable } from './server/session';

let session: ServerSession | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Astra', { log: true });
  session = new ServerSession(context, output);
  const server = session;
  const active = new ActiveStore();
  const drafts = new EventDrafts(server, active);
  const projections = new ProjectionDocuments(server, active);
  const statusBar = new StoreStatusBar(server, active);
  const timeline = new TimelinePanel(server, active);
  const remotes = new RemoteStoreDocuments(server);
  const debuggerPanel = new DebuggerPanel(server, active);
  const events = new EventDocuments(server);
  const traces = new TraceDocuments(server);
  context.subscriptions.push(output, server, active, drafts, projections, statusBar, timeline, remotes, debuggerPanel, events, traces);

  /** Palette commands report failures as one notification: never a stack trace, never silence. */
  const command = (id: string, run: (argument?: unknown) => Promise<unknown>): void => {
    context.subscriptions.push(
      // The server's code lenses and hover links call these ids with one argument object.
      vscode.commands.registerCommand(id, async (argument?: unknown) => {
        try {
          await run(argument);
        } catch (e) {
          // Unavailable was already explained by the start-up notification.
          if (e instanceof ServerUnavailable) return;
          output.error(`${id}: ${errorText(e)}`);
          void vscode.window.showErrorMessage(`Astra: ${errorText(e)}`, 'Show Output').then((c) => c && output.show());
        }
      }),
    );
  };

  command('astra-ls.appendEvent', (a) => drafts.start(a));
  command('astra-ls.submitDraft', (uri) => drafts.submit(uri));
  command('astra-ls.discardDraft', (uri) => drafts.discard(uri));
  command('astra-ls.countEvents', (a) => countEvents(server, active, output, a));
  command('astra-ls.showProjection', (a) => projections.show(a));
  command('astra-ls.showStateAtCursor', () => projections.showAtCursor());
  command('astra-ls.showStateAtLine', (a) => projections.showAtLine(a));
  command('astra-ls.queryEvents', (a) => queryEvents(server, active, a));
  command('astra-ls.traceDecision', (a) => traces.show(a));
  command('astra-ls.showTimeline', (a) => timeline.show(a));
  command('astra-ls.openDebugger', (a) => debuggerPanel.show(a));
  command('astra-ls.compareStates', (a) => compareStates(server, active, a));
  command('astra-ls.showEvent', () => events.showAtCursor());
  command('astra-ls.quarantine', (a) => quarantine(server, active, a));
  command('astra-ls.compact', (a) => compact(server, active, a));
  command('astra-ls.restartServer', () => server.restart());
  command('astra-ls.showOutput', () => {
    output.show();
    return Promise.resolve();
  });
  command('astra-ls.openSample', () => openSample(context));
  command('astra-ls.installServer', async () => {
    await server.stop();
    if (await installPrivateServer(context, output)) await server.start();
  });

  context.subscriptions.push(
    // Granting trust changes what the server may do (custom schemas and projectors): start afresh.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void server.restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('astra.server')) return;
      // Another interpreter or arguments for some folders: only their servers change. Anything else reaches every server.
      const planOnly = ['astra.server.indexCache', 'astra.server.logLevel', 'astra.server.installSource']
        .every((key) => !e.affectsConfiguration(key));
      void (planOnly ? server.refresh() : server.restart());
    }),
    // Folders added or removed: their interpreters may call for other servers; the rest keep running.
    vscode.workspace.onDidChangeWorkspaceFolders(() => void server.refresh()),
  );

  // A new interpreter selected in the Python extension (for one folder or all): the servers it concerns move to it.
  void onInterpreterChange(() => void server.refresh()).then((watch) => context.subscriptions.push(watch));

  await server.start();
}

export async function deactivate(): Promise<void> {
  await session?.stop();
  session = undefined;
}
