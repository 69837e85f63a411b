/**
 * The language server's lifetime: choosing an interpreter, starting the client, restarting, and
 * sending palette commands to the server as `workspace/executeCommand` requests.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  type DocumentSelector,
  type DynamicFeature,
  ExecuteCommandRequest,
  type FeatureState,
  type InitializeParams,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  type StaticFeature,
} from 'vscode-languageclient/node';
import { groupFolders, groupFor, groupIdentity, reconcileServers, type ServerGroup, storeGlob } from '../core/folders';
import {
  commandLine,
  describeSource,
  initializationOptions,
  type InterpreterCandidate,
  interpreterCandidates,
  type ProbeOutcome,
  serverArgs,
} from '../core/launch';
import {
  type Failure, isFailure, type ListStoresAnswer, ServerCommand, STORE_CHANGED_NOTIFICATION, type ServerCommandId, type StoreChanged,
} from '../core/protocol';
import { probe, pythonEnv } from './processes';
import { pythonExtensionInterpreter } from './pythonExtension';
import { existingPrivatePython, installPrivateServer, shippedBundle } from './installer';

/** An ordinary `{ok: false}` answer from the server, carried as an exception. */
export class ServerFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** Thrown when a command is used while no server could be started; already explained to the user. */
export class ServerUnavailable extends Error {}

/**
 * Files the server serves. The built-in `jsonl` language covers open stores; the scheme+pattern
 * entry keeps the server attached when a user maps `.jsonl` to another language.
 */
export const DOCUMENT_SELECTOR = [
  { language: 'jsonl', pattern: '**/.astra/*.jsonl' },
  { scheme: 'file', pattern: '**/.astra/*.jsonl' },
  // Remote stores, mirrored by the server as read-only virtual documents.
  { scheme: 'astra-remote' },
];

/** One running language client and the folders it serves. */
interface RunningServer extends ServerGroup {
  readonly client: LanguageClient;
  readonly interpreter: InterpreterCandidate;
}

/** A folder (or the folder-less window) and the interpreter chosen for it. */
interface FolderPlan {
  readonly folder: vscode.WorkspaceFolder | undefined;
  readonly chosen: InterpreterCandidate | undefined;
  readonly results: Tried[];
  readonly key: string | undefined;
}

/**
 * The language servers of the window. Usually one; in a multi-root workspace whose folders choose
 * different interpreters, one per interpreter, each serving its folders (see core/folders.ts).
 * Commands go to the server of the store they name.
 */
export class ServerSession implements vscode.Disposable {
  /** Running servers by group identity. */
  private readonly servers = new Map<string, RunningServer>();
  /** Server command ids registered by the session while servers serve some folders each. */
  private readonly commandRoutes = new Map<string, vscode.Disposable>();
  private starting: Promise<boolean> | undefined;
  /** Starts, stops and re-plans run one after another. */
  private tail: Promise<unknown> = Promise.resolve();
  /** The automatic install from shipped wheels runs once a session, not again after it failed. */
  private installTried = false;
  private readonly storeChanged = new vscode.EventEmitter<StoreChanged>();
  private readonly started = new vscode.EventEmitter<void>();
  /** Fires with the payload of every `astra/storeChanged` notification. */
  readonly onStoreChanged = this.storeChanged.event;
  /** Fires each time a server (re)starts, so views can reload from scratch. */
  readonly onDidStart = this.started.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get isRunning(): boolean {
    return [...this.servers.values()].some((s) => s.client.state === State.Running);
  }

  /** Starts the servers once; concurrent callers share the attempt. Resolves false if none could start. */
  start(): Promise<boolean> {
    this.starting ??= this.serialized(() => this.reconcile()).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Plans again (folders added or removed, another interpreter selected, settings changed) and
   * starts or stops only the servers whose interpreter or folders changed.
   */
  refresh(): Promise<boolean> {
    return this.serialized(() => this.reconcile());
  }

  async restart(): Promise<boolean> {
    this.output.info('Restarting the server');
    return this.serialized(async () => {
      await this.stopAll();
      return this.reconcile();
    });
  }

  stop(): Promise<void> {
    return this.serialized(() => this.stopAll());
  }

  /** Runs a server command with its single argument object; `{ok:false}` answers throw ServerFailure. */
  async execute<T>(command: ServerCommandId, argument: Record<string, unknown>): Promise<T> {
    const store = typeof argument.store === 'string' ? argument.store : undefined;
    // A listing without a store covers every folder: ask every server and join the answers.
    if (store === undefined && command === ServerCommand.listStores && this.servers.size > 1) {
      const answers = await Promise.all(this.running().map((s) => this.send(s.client, command, argument)));
      return joinListings(answers) as T;
    }
    return this.send(await this.clientFor(store), command, argument) as Promise<T>;
  }

  /** A custom request (e.g. `astra/remoteDocument`); answers are returned as they come. */
  async request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const client = await this.clientFor(typeof params.uri === 'string' ? params.uri : undefined);
    return client.sendRequest<T>(method, params);
  }

  dispose(): void {
    void this.stop();
    for (const registration of this.commandRoutes.values()) registration.dispose();
    this.storeChanged.dispose();
    this.started.dispose();
  }

  private async send(client: LanguageClient, command: ServerCommandId, argument: Record<string, unknown>): Promise<unknown> {
    this.output.debug(`executeCommand ${command} ${JSON.stringify(argument)}`);
    const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] });
    if (isFailure(answer)) throw new ServerFailure(answer);
    if (answer === null || answer === undefined) {
      throw new Error(`The server gave no answer to ${command}.`);
    }
    return answer;
  }

  /** The running client serving `uri` (a store, a document), starting servers first if none runs. */
  private async clientFor(uri: string | undefined): Promise<LanguageClient> {
    if (!this.isRunning && !(await this.start())) {
      throw new ServerUnavailable('The Astra language server is not running.');
    }
    const server = groupFor(uri === undefined ? undefined : canonicalUri(uri), this.running(), caseInsensitiveFiles());
    if (!server) throw new ServerUnavailable('The Astra language server is not running.');
    return server.client;
  }

  /** The running servers in the order of their first folder in the workspace (the fallback for a URI in no folder comes first). */
  private running(): RunningServer[] {
    const order = (vscode.workspace.workspaceFolders ?? []).map(folderKey);
    const rank = (s: RunningServer): number => (s.folders === 'all' ? -1 : order.indexOf(s.folders[0] ?? ''));
    return [...this.servers.values()].filter((s) => s.client.state === State.Running).sort((a, b) => rank(a) - rank(b));
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async stopAll(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((id) => this.stopServer(id)));
    this.routeServerCommands();
  }

  /**
   * The server's own command ids (`astra.quarantine` in a code action, ...) as VS Code commands. A
   * whole-window client registers them itself, as always; clients for some folders cannot (an id is
   * registered once per window), so the session registers them and sends each to the server of the
   * store its argument names.
   */
  private routeServerCommands(): void {
    const perFolder = [...this.servers.values()].filter((s) => s.folders !== 'all');
    const ids = new Set(perFolder.flatMap((s) => s.client.initializeResult?.capabilities.executeCommandProvider?.commands ?? []));
    for (const [id, registration] of this.commandRoutes) {
      if (!ids.has(id)) {
        registration.dispose();
        this.commandRoutes.delete(id);
      }
    }
    for (const id of ids) {
      if (this.commandRoutes.has(id)) continue;
      this.commandRoutes.set(id, vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        const first: unknown = args[0];
        const store = typeof first === 'object' && first !== null ? (first as { store?: unknown }).store : undefined;
        const client = await this.clientFor(typeof store === 'string' ? store : undefined);
        const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command: id, arguments: args });
        return answer;
      }));
    }
  }

  private async stopServer(id: string): Promise<void> {
    const server = this.servers.get(id);
    this.servers.delete(id);
    if (!server) return;
    try {
      await server.client.stop(5_000);
      this.output.info(`Server stopped${server.folders === 'all' ? '' : ` (${folderNames(server.folders)})`}`);
    } catch (e) {
      this.output.warn(`Stopping the server: ${errorText(e)}`);
    }
  }

  private async candidates(folder: vscode.WorkspaceFolder | undefined): Promise<InterpreterCandidate[]> {
    // Read with the folder as scope: a folder's own settings may name its own interpreter.
    const config = vscode.workspace.getConfiguration('astra.server', folder?.uri);
    const configured = config.get<string>('python');
    const first = folder ?? vscode.workspace.workspaceFolders?.[0];
    return interpreterCandidates({
      configuredPython: configured,
      // Only ask the Python extension when the user left the setting empty (it may be slow to activate).
      pythonExtensionInterpreter: configured?.trim() ? undefined : await pythonExtensionInterpreter(first?.uri),
      privateEnvironmentPython: await existingPrivatePython(this.context),
      home: os.homedir(),
      workspaceFolder: first?.uri.fsPath,
      platform: process.platform,
    });
  }

  /** The interpreter of every folder (or of the folder-less window); each distinct interpreter is probed once. */
  private async plan(): Promise<FolderPlan[]> {
    const scopes: (vscode.WorkspaceFolder | undefined)[] = [...(vscode.workspace.workspaceFolders ?? [])];
    if (scopes.length === 0) scopes.push(undefined);
    const probes = new Map<string, Promise<ProbeOutcome>>();
    const plans: FolderPlan[] = [];
    for (const folder of scopes) {
      const results: Tried[] = [];
      let chosen: InterpreterCandidate | undefined;
      for (const candidate of await this.candidates(folder)) {
        const line = commandLine(candidate);
        let outcome = probes.get(line);
        if (!outcome) {
          outcome = probe(candidate);
          probes.set(line, outcome);
          const result = await outcome;
          this.output.info(`Interpreter ${line} (${describeSource(candidate.source)}): ${result.ok ? `Python ${result.python}, ready` : result.detail}`);
        }
        const result = await outcome;
        results.push({ candidate, result });
        if (result.ok) {
          chosen = candidate;
          break;
        }
      }
      const args = serverArgs(vscode.workspace.getConfiguration('astra.server', folder?.uri).get<unknown[]>('args'));
      plans.push({ folder, chosen, results, key: chosen ? JSON.stringify([chosen.command, ...(chosen.prefix ?? []), ...args]) : undefined });
    }
    return plans;
  }

  private async reconcile(): Promise<boolean> {
    let plans = await this.plan();
    // A platform VSIX carries every wheel: set the server up without asking (no network is used), once.
    if (plans.some((p) => !p.chosen && !vscode.workspace.getConfiguration('astra.server', p.folder?.uri).get<string>('python')?.trim())
        && !this.installTried && (await shippedBundle(this.context))) {
      this.installTried = true;
      this.output.info('No interpreter has astra-ls: installing it from the wheels shipped with the extension');
      if (await installPrivateServer(this.context, this.output)) plans = await this.plan();
    }
    const failed = plans.find((p) => !p.chosen);
    if (failed) void this.explainUnavailable(failed.results, plans.length > 1 ? failed.folder : undefined);

    const groups = groupFolders(plans.map((p) => ({ folder: folderKey(p.folder), key: p.key })));
    // A server that stopped for good (it crashed too often) is started again.
    const dead = [...this.servers].filter(([, s]) => s.client.state === State.Stopped).map(([id]) => id);
    await Promise.all(dead.map((id) => this.stopServer(id)));
    const { stop, start } = reconcileServers([...this.servers.keys()], groups);
    await Promise.all(stop.map((id) => this.stopServer(id)));
    this.routeServerCommands();
    for (const group of start) {
      const plan = plans.find((p) => p.key === group.key);
      // Remote stores are not in any folder: the first folder's server serves them.
      if (plan?.chosen) await this.launch(group, plan.chosen, group === groups[0]);
    }
    this.routeServerCommands();
    return this.isRunning;
  }

  private async launch(group: ServerGroup, interpreter: InterpreterCandidate, servesRemote: boolean): Promise<boolean> {
    const folders = group.folders === 'all' ? undefined
      : (vscode.workspace.workspaceFolders ?? []).filter((f) => group.folders.includes(folderKey(f)));
    const scope = folders?.[0]?.uri;
    const config = vscode.workspace.getConfiguration('astra.server', scope);
    const args = serverArgs(config.get<unknown[]>('args'));
    const trusted = vscode.workspace.isTrusted;
    // Per-workspace storage when a folder is open; either way outside the workspace.
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    const serves = folders ? ` for ${folders.map((f) => f.name).join(', ')}` : '';
    this.output.info(`Starting ${commandLine(interpreter)} ${args.join(' ')}${serves} (workspace ${trusted ? 'trusted' : 'untrusted'})`);
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      args: [...(interpreter.prefix ?? []), ...args],
      // Never the workspace folder: see pythonEnv() on why the working directory matters.
      options: { cwd: os.homedir(), env: pythonEnv() },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: folders ? folderSelector(folders, servesRemote) : DOCUMENT_SELECTOR,
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: initializationOptions(trusted, config.get<unknown>('indexCache'),
        storage.scheme === 'file' ? storage.fsPath : undefined, vscode.workspace.getConfiguration(undefined, scope).get('astra'),
        config.get<unknown>('logLevel')),
      diagnosticCollectionName: 'astra',
      // Hovers link to "Open the full state"; only that command may run from server markdown.
      markdown: { isTrusted: { enabledCommands: ['astra-ls.showStateAtLine'] } },
      // A server for some folders only hears of those; a change to its folders starts another server instead.
      middleware: folders ? {
        workspace: {
          workspaceFolders: () => folders.map((f) => ({ uri: f.uri.toString(), name: f.name })),
          didChangeWorkspaceFolders: () => Promise.resolve(),
        },
      } : {},
    };
    const client = folders
      ? new FolderLanguageClient('astra', 'Astra Language Server', serverOptions, clientOptions)
      : new LanguageClient('astra', 'Astra Language Server', serverOptions, clientOptions);
    if (folders) client.registerFeature(new ServedFolders(folders));
    client.onNotification(STORE_CHANGED_NOTIFICATION, (payload: StoreChanged) => this.storeChanged.fire(payload));
    this.servers.set(groupIdentity(group), { ...group, client, interpreter });
    try {
      await client.start();
    } catch (e) {
      this.servers.delete(groupIdentity(group));
      this.output.error(`The server did not start: ${errorText(e)}`);
      void vscode.window
        .showErrorMessage(`Astra: the language server did not start (${errorText(e)}).`, 'Show Output')
        .then((choice) => choice && this.output.show());
      return false;
    }
    this.started.fire();
    return true;
  }

  /** One notification that says which interpreters were tried and why each cannot run the server; no stack traces. */
  private async explainUnavailable(results: Tried[], folder?: vscode.WorkspaceFolder): Promise<void> {
    if (results.length === 0) return;
    const tried = results.map(({ candidate, result }) =>
      `${commandLine(candidate)} (${describeSource(candidate.source)}): ${result.ok ? 'ready' : result.detail}`);
    const install = 'Install astra-ls';
    const choose = 'Choose Interpreter';
    const choice = await vscode.window.showWarningMessage(
      `Astra: no Python interpreter can run the language server${folder ? ` for the folder ${folder.name}` : ''}. Tried ${tried.join('; ')}.`,
      install,
      choose,
      'Show Output',
    );
    if (choice === install) {
      await vscode.commands.executeCommand('astra-ls.installServer');
    } else if (choice === choose) {
      // The Python extension's picker when it is there (its choice is used next), else our setting.
      const picker = vscode.extensions.getExtension('ms-python.python') ? 'python.setInterpreter' : 'workbench.action.openSettings';
      await vscode.commands.executeCommand(picker, ...(picker === 'python.setInterpreter' ? [] : ['astra.server.python']));
    } else if (choice === 'Show Output') {
      this.output.show();
    }
  }
}

/**
 * A client for some folders: it leaves the server's command ids to the session (see
 * routeServerCommands), since several such clients would each register the same ids.
 */
class FolderLanguageClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    if ('registrationType' in feature && feature.registrationType.method === ExecuteCommandRequest.method) return;
    super.registerFeature(feature);
  }
}

/**
 * Tells a server for some folders only those folders at `initialize` (the client otherwise sends
 * every folder of the window). Registered after the built-in features, so it fills in last.
 */
class ServedFolders implements StaticFeature {
  constructor(private readonly folders: readonly vscode.WorkspaceFolder[]) {}

  fillInitializeParams(params: InitializeParams): void {
    params.workspaceFolders = this.folders.map((f) => ({ uri: f.uri.toString(), name: f.name }));
  }

  fillClientCapabilities(): void {
    // nothing to announce
  }

  initialize(): void {
    // nothing to set up
  }

  getState(): FeatureState {
    return { kind: 'static' };
  }

  clear(): void {
    // nothing held
  }
}

/** The stores of these folders only; remote stores go to the server of the first folder. */
function folderSelector(folders: readonly vscode.WorkspaceFolder[], remote: boolean): DocumentSelector {
  const selector: DocumentSelector = folders.flatMap((f) => [
    { language: 'jsonl', pattern: storeGlob(f.uri.fsPath) },
    { scheme: 'file', pattern: storeGlob(f.uri.fsPath) },
  ]);
  return remote ? [...selector, { scheme: 'astra-remote' }] : selector;
}

/** The key a folder is grouped and routed by; the folder-less window has the empty key. */
function folderKey(folder: vscode.WorkspaceFolder | undefined): string {
  return folder ? folder.uri.toString() : '';
}

function folderNames(folders: readonly string[]): string {
  return folders.map((f) => vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(f))?.name ?? f).join(', ');
}

/** Server URIs and editor URIs may differ in escaping (`C:` against `c%3A`): compare one form. */
function canonicalUri(uri: string): string {
  return vscode.Uri.parse(uri).toString();
}

function caseInsensitiveFiles(): boolean {
  return process.platform === 'win32' || process.platform === 'darwin';
}

/** Every server's store listing as one. */
function joinListings(answers: readonly unknown[]): ListStoresAnswer {
  const listings = answers as ListStoresAnswer[];
  const skipped = listings.flatMap((a) => a.skipped ?? []);
  return { ok: true, stores: listings.flatMap((a) => a.stores), ...(skipped.length > 0 ? { skipped } : {}) };
}

interface Tried {
  readonly candidate: InterpreterCandidate;
  readonly result: ProbeOutcome;
}

/** A readable one-line description of anything thrown by the client or the server. */
export function errorText(e: unknown): string {
  if (e instanceof ServerFailure) return `${e.failure.message} (${e.failure.code})`;
  if (e instanceof ResponseError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
