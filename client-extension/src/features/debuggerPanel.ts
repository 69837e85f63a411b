/**
 * The time-travel debugger: a panel beside a store with a scrubber over its events, steps (buttons and
 * keys), play at a chosen speed and a type filter; the state at the position as a tree with what the step
 * changed highlighted, and the event itself. It follows the editor's cursor and reveals the line it is at;
 * it follows appends. Every answer comes from the server (`astra.seek`, `astra.diff`, `astra.showEvent`).
 */
import * as vscode from 'vscode';
import { debounce } from '../core/debounce';
import { type DiffAnswer, type SeekAnswer, ServerCommand, type ShowEventAnswer } from '../core/protocol';
import { MAX_LIST_ITEMS, type PatchOperation, renderTree } from '../core/stateTree';
import { errorText, type ServerSession } from '../server/session';
import { type ActiveStore, sameUri, type StoreRef } from './activeStore';
import { givenStore, pickStore } from './storePicker';

type Move = 'first' | 'previous' | 'next' | 'last';

/** Messages the page sends. */
type FromPage =
  | { kind: 'move'; to: Move }
  | { kind: 'goto'; line: number }
  | { kind: 'play'; speed: number }
  | { kind: 'pause' }
  | { kind: 'filter'; type: string };

export class DebuggerPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private store: StoreRef | undefined;
  private line = 0;
  private type = '';
  private lines = 0;
  private types: string[] = [];
  private playing: ReturnType<typeof setInterval> | undefined;
  /** Set while the panel moves the editor's cursor, so that move does not come back as a scrubber move. */
  private revealing = false;
  private readonly disposables: { dispose(): unknown }[];
  private readonly statusItem = vscode.window.createStatusBarItem('astra.debugger', vscode.StatusBarAlignment.Left, 49);
  private readonly followCursor = debounce((line: number) => void this.goto(line, false), 150);
  private readonly refreshSoon = debounce(() => void this.onAppended(), 200);

  constructor(
    private readonly session: ServerSession,
    private readonly active: ActiveStore,
  ) {
    this.statusItem.name = 'Astra Time Travel';
    this.statusItem.text = '$(debug-alt) Time travel';
    this.statusItem.tooltip = 'Open the time-travel debugger for this store';
    this.statusItem.command = 'astra-ls.openDebugger';
    this.disposables = [
      this.statusItem,
      active.onDidChange((store) => (store ? this.statusItem.show() : this.statusItem.hide())),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (this.revealing || !this.panel || !this.store || !sameUri(e.textEditor.document.uri.toString(), this.store.uri)) return;
        // the editor counts lines from 0, the panel (like the server) from 1
        this.followCursor((e.selections[0]?.active.line ?? 0) + 1);
      }),
      session.onStoreChanged((e) => {
        if (this.store && sameUri(this.store.uri, e.uri)) this.refreshSoon();
      }),
    ];
    if (active.store) this.statusItem.show();
  }

  /** Palette, status bar and code lens: `{store, line?}` or `{store, timestamp?}`. */
  async show(argument?: unknown): Promise<void> {
    const store = givenStore(argument) ?? this.active.store ?? (await pickStore(this.session, this.active, 'Open Time-Travel Debugger'));
    if (!store) return;
    const given = argument as { line?: unknown; timestamp?: unknown } | undefined;
    this.store = store;
    this.ensurePanel();
    if (typeof given?.timestamp === 'number' || typeof given?.timestamp === 'string') {
      const at = await this.session.execute<DiffAnswer>(ServerCommand.diff, {
        store: store.uri, from: { line: 0 }, to: { timestamp: given.timestamp }, before: false, listTail: 1,
      });
      await this.goto(at.to.line, true);
    } else {
      const editor = vscode.window.activeTextEditor;
      const cursor = editor && sameUri(editor.document.uri.toString(), store.uri) ? editor.selection.active.line + 1 : undefined;
      await this.goto(typeof given?.line === 'number' ? given.line : cursor ?? 1, false);
    }
  }

  private ensurePanel(): void {
    if (this.panel) {
      this.panel.reveal(vscode.ViewColumn.Beside, true);
      return;
    }
    const panel = vscode.window.createWebviewPanel('astra.debugger', 'Astra Debugger', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      retainContextWhenHidden: true,
    });
    panel.webview.onDidReceiveMessage((message: FromPage) => void this.receive(message));
    panel.onDidDispose(() => {
      this.pause();
      this.panel = undefined;
    });
    panel.webview.html = page(panel.webview.cspSource, nonce());
    this.panel = panel;
  }

  private async receive(message: FromPage): Promise<void> {
    try {
      if (message.kind === 'move') await this.move(message.to);
      else if (message.kind === 'goto') await this.goto(message.line, true);
      else if (message.kind === 'filter') {
        this.type = message.type;
        await this.move('next', this.line - 1);
      } else if (message.kind === 'play') this.play(message.speed);
      else this.pause();
    } catch (e) {
      void this.panel?.webview.postMessage({ kind: 'error', text: errorText(e) });
    }
  }

  private async move(to: Move, from = this.line): Promise<void> {
    if (!this.store) return;
    const found = await this.session.execute<SeekAnswer>(ServerCommand.seek, {
      store: this.store.uri, line: Math.max(0, from), to, ...(this.type ? { type: this.type } : {}),
    });
    this.lines = found.lines;
    this.types = found.types;
    if (found.line === null) {
      if (to === 'next') this.pause(); // played to the end
      this.post();
      return;
    }
    await this.goto(found.line, true, true);
  }

  private play(speed: number): void {
    this.pause();
    const perSecond = Math.min(Math.max(speed, 0.5), 50);
    this.playing = setInterval(() => void this.move('next'), 1000 / perSecond);
  }

  private pause(): void {
    if (this.playing !== undefined) clearInterval(this.playing);
    this.playing = undefined;
  }

  /**
   * Moves to a line (1-based) and shows the state after it; `reveal` moves the editor's cursor there too.
   * `counted`: a seek just told the store's length and types, so the step asks only for the state and event.
   */
  private async goto(line: number, reveal: boolean, counted = false): Promise<void> {
    const store = this.store;
    const panel = this.panel;
    if (!store || !panel) return;
    const target = Math.max(1, Math.round(line));
    const [diff, shown, seek] = await Promise.all([
      // Only what the page draws: no state before, lists cut to the items the tree shows.
      this.session.execute<DiffAnswer>(ServerCommand.diff, {
        store: store.uri, from: { line: target - 1 }, to: { line: target }, before: false, listTail: MAX_LIST_ITEMS,
      }),
      this.session.execute<ShowEventAnswer>(ServerCommand.showEvent, { store: store.uri, line: target }).catch(() => undefined),
      counted ? undefined : this.session.execute<SeekAnswer>(ServerCommand.seek, { store: store.uri, line: 0, to: 'last' }),
    ]);
    this.line = diff.to.line;
    if (seek) {
      this.lines = seek.lines;
      this.types = seek.types;
    }
    panel.title = `Debugger: ${store.name}`;
    this.post(diff, shown);
    if (reveal) await this.revealLine(store, this.line);
  }

  private post(diff?: DiffAnswer, shown?: ShowEventAnswer): void {
    void this.panel?.webview.postMessage({
      kind: 'position',
      store: this.store?.name ?? '',
      line: this.line,
      lines: this.lines,
      types: this.types,
      type: this.type,
      playing: this.playing !== undefined,
      ...(diff ? {
        time: diff.to.timestamp === null || diff.to.timestamp === undefined ? null : new Date(Number(diff.to.timestamp)).toISOString(),
        events: diff.to.events,
        changes: diff.patch.length,
        tree: renderTree(diff.after, diff.patch as unknown as PatchOperation[], diff.trimmed ?? {}),
      } : {}),
      ...(shown ? { event: shown.event === null ? shown.text : JSON.stringify(shown.event, null, 2), problems: shown.problems.length } : {}),
    });
  }

  private async revealLine(store: StoreRef, line: number): Promise<void> {
    const editor = vscode.window.visibleTextEditors.find((e) => sameUri(e.document.uri.toString(), store.uri));
    if (!editor || line < 1) return;
    const position = new vscode.Position(line - 1, 0);
    this.revealing = true;
    try {
      editor.selection = new vscode.Selection(position, position);
      editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the selection event comes asynchronously
    } finally {
      this.revealing = false;
    }
  }

  /** The store grew: a panel at the old last line follows to the new one; otherwise only the counts change. */
  private async onAppended(): Promise<void> {
    if (!this.store || !this.panel) return;
    const atEnd = this.line >= this.lines;
    const seek = await this.session.execute<SeekAnswer>(ServerCommand.seek, { store: this.store.uri, line: 0, to: 'last' });
    this.lines = seek.lines;
    this.types = seek.types;
    if (atEnd && seek.line !== null) await this.goto(seek.line, false);
    else this.post();
  }

  dispose(): void {
    this.pause();
    this.followCursor.cancel();
    this.refreshSoon.cancel();
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 32 }, () => chars.charAt(Math.floor(Math.random() * chars.length))).join('');
}

/** The page: controls, the state tree and the event. Theme colours only; every control has a label. */
function page(cspSource: string, scriptNonce: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${scriptNonce}';">
<title>Astra Debugger</title>
<style>
  body { color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 8px 12px; }
  .controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin-bottom: 8px; }
  button, select, input { color: var(--vscode-input-foreground); background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); padding: 2px 6px; }
  button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); cursor: pointer; }
  button:focus, select:focus, input:focus, summary:focus { outline: 1px solid var(--vscode-focusBorder); }
  #scrubber { flex: 1 1 200px; }
  .panes { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; }
  h3 { font-size: 1em; margin: 4px 0; }
  ul.tree, ul.tree ul { list-style: none; padding-left: 14px; margin: 0; font-family: var(--vscode-editor-font-family); }
  ul.tree { padding-left: 0; }
  .key { color: var(--vscode-symbolIcon-fieldForeground, var(--vscode-foreground)); }
  .string { color: var(--vscode-debugTokenExpression-string, var(--vscode-foreground)); }
  .number, .boolean, .null { color: var(--vscode-debugTokenExpression-number, var(--vscode-foreground)); }
  .size, .more { opacity: 0.7; }
  .changed > details > summary, li.leaf.changed { background: var(--vscode-diffEditor-insertedTextBackground, var(--vscode-editor-findMatchHighlightBackground)); outline: 1px solid var(--vscode-diffEditor-insertedLineBackground, transparent); }
  pre { white-space: pre-wrap; word-break: break-all; font-family: var(--vscode-editor-font-family); background: var(--vscode-textCodeBlock-background); padding: 6px; }
  .error { color: var(--vscode-errorForeground); }
</style></head>
<body>
<div class="controls" role="toolbar" aria-label="Time travel">
  <button id="first" aria-label="First event (Home)" title="First event (Home)">|◀</button>
  <button id="previous" aria-label="Previous event (Left arrow)" title="Previous event (←)">◀</button>
  <button id="play" aria-label="Play (Space)" title="Play or pause (Space)">Play</button>
  <button id="next" aria-label="Next event (Right arrow)" title="Next event (→)">▶</button>
  <button id="last" aria-label="Last event (End)" title="Last event (End)">▶|</button>
  <input id="scrubber" type="range" min="1" max="1" value="1" aria-label="Position in the store (line)">
  <label>Speed <select id="speed" aria-label="Play speed, events per second"><option>1</option><option selected>2</option><option>5</option><option>10</option><option>25</option></select>/s</label>
  <label>Type <select id="type" aria-label="Step only through events of this type"><option value="">all</option></select></label>
</div>
<div id="status" role="status" aria-live="polite"></div>
<div id="error" class="error" role="alert"></div>
<div class="panes">
  <section aria-label="State after this event"><h3>State after this event <span id="changes"></span></h3><div id="state"></div></section>
  <section aria-label="The event"><h3>Event</h3><pre id="event" tabindex="0"></pre></section>
</div>
<script nonce="${scriptNonce}">
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);
  let playing = false;
  const send = (message) => vscode.postMessage(message);
  for (const to of ['first', 'previous', 'next', 'last']) $(to).addEventListener('click', () => send({ kind: 'move', to }));
  $('play').addEventListener('click', () => togglePlay());
  $('scrubber').addEventListener('change', (e) => send({ kind: 'goto', line: Number(e.target.value) }));
  $('type').addEventListener('change', (e) => send({ kind: 'filter', type: e.target.value }));
  function showPlaying() { $('play').textContent = playing ? 'Pause' : 'Play'; $('play').setAttribute('aria-label', (playing ? 'Pause' : 'Play') + ' (Space)'); }
  function togglePlay() { send(playing ? { kind: 'pause' } : { kind: 'play', speed: Number($('speed').value) }); playing = !playing; showPlaying(); }
  document.addEventListener('keydown', (e) => {
    if (e.target && ['INPUT', 'SELECT'].includes(e.target.tagName) && e.target.id !== 'scrubber') return;
    const keys = { ArrowLeft: 'previous', ArrowRight: 'next', Home: 'first', End: 'last' };
    if (keys[e.key]) { e.preventDefault(); send({ kind: 'move', to: keys[e.key] }); }
    else if (e.key === ' ' && e.target.tagName !== 'SUMMARY') { e.preventDefault(); togglePlay(); }
  });
  window.addEventListener('message', (event) => {
    const m = event.data;
    if (m.kind === 'error') { $('error').textContent = m.text; return; }
    $('error').textContent = '';
    $('scrubber').max = String(Math.max(1, m.lines));
    $('scrubber').value = String(m.line);
    $('scrubber').setAttribute('aria-valuetext', 'line ' + m.line + ' of ' + m.lines);
    const select = $('type');
    const wanted = ['', ...m.types];
    if (select.options.length !== wanted.length || wanted.some((t, i) => select.options[i].value !== t)) {
      select.replaceChildren(...wanted.map((t) => { const o = document.createElement('option'); o.value = t; o.textContent = t || 'all'; return o; }));
    }
    select.value = m.type;
    playing = m.playing; showPlaying();
    if (m.tree !== undefined) {
      $('status').textContent = m.store + ': line ' + m.line + ' of ' + m.lines + ', ' + m.events + ' events' + (m.time ? ', ' + m.time : '');
      $('changes').textContent = m.changes === 0 ? '(no change)' : '(' + m.changes + ' change' + (m.changes === 1 ? '' : 's') + ' highlighted)';
      $('state').innerHTML = m.tree;
    }
    if (m.event !== undefined) $('event').textContent = m.event + (m.problems ? '\\n\\n' + m.problems + ' problem(s) on this line' : '');
  });
</script>
</body></html>`;
}

