/**
 * The language server's lifetime: choosing an interpreter, starting the client, restarting, and
 * sending palette commands to the server as `workspace/executeCommand` requests.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';
import {
  commandLine,
  describeSource,
  initializationOptions,
  type InterpreterCandidate,
  interpreterCandidates,
  type ProbeOutcome,
  serverArgs,
} from '../core/launch';
import { type Failure, isFailure, STORE_CHANGED_NOTIFICATION, type ServerCommandId, type StoreChanged } from '../core/protocol';
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

export class ServerSession implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<boolean> | undefined;
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
    return this.client?.state === State.Running;
  }

  /** Starts the server once; concurrent callers share the attempt. Resolves false if it could not start. */
  start(): Promise<boolean> {
    this.starting ??= this.doStart().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  async restart(): Promise<boolean> {
    this.output.info('Restarting the server');
    await this.stop();
    return this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5_000);
        this.output.info('Server stopped');
      } catch (e) {
        this.output.warn(`Stopping the server: ${errorText(e)}`);
      }
    }
  }

  /** Runs a server command with its single argument object; `{ok:false}` answers throw ServerFailure. */
  async execute<T>(command: ServerCommandId, argument: Record<string, unknown>): Promise<T> {
    if (!this.isRunning && !(await this.start())) {
      throw new ServerUnavailable('The Astra language server is not running.');
    }
    const client = this.client;
    if (!client) throw new ServerUnavailable('The Astra language server is not running.');
    this.output.debug(`executeCommand ${command} ${JSON.stringify(argument)}`);
    const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] });
    if (isFailure(answer)) throw new ServerFailure(answer);
    if (answer === null || answer === undefined) {
      throw new Error(`The server gave no answer to ${command}.`);
    }
    return answer as T;
  }

  /** A custom request (e.g. `astra/remoteDocument`); answers are returned as they come. */
  async request<T>(method: string, params: Record<string, unknown>): Promise<T> {
    if (!this.isRunning && !(await this.start())) {
      throw new ServerUnavailable('The Astra language server is not running.');
    }
    const client = this.client;
    if (!client) throw new ServerUnavailable('The Astra language server is not running.');
    return client.sendRequest<T>(method, params);
  }

  dispose(): void {
    void this.stop();
    this.storeChanged.dispose();
    this.started.dispose();
  }

  private async candidates(): Promise<InterpreterCandidate[]> {
    const config = vscode.workspace.getConfiguration('astra.server');
    const folder = vscode.workspace.workspaceFolders?.[0];
    const configured = config.get<string>('python');
    return interpreterCandidates({
      configuredPython: configured,
      // Only ask the Python extension when the user left the setting empty (it may be slow to activate).
      pythonExtensionInterpreter: configured?.trim() ? undefined : await pythonExtensionInterpreter(folder?.uri),
      privateEnvironmentPython: await existingPrivatePython(this.context),
      home: os.homedir(),
      workspaceFolder: folder?.uri.fsPath,
      platform: process.platform,
    });
  }

  private async doStart(): Promise<boolean> {
    let { chosen, results } = await this.choose();
    // A platform VSIX carries every wheel: set the server up without asking (no network is used), once.
    if (!chosen && !this.installTried && !vscode.workspace.getConfiguration('astra.server').get<string>('python')?.trim()
        && (await shippedBundle(this.context))) {
      this.installTried = true;
      this.output.info('No interpreter has astra-ls: installing it from the wheels shipped with the extension');
      if (await installPrivateServer(this.context, this.output)) ({ chosen, results } = await this.choose());
    }
    if (!chosen) {
      void this.explainUnavailable(results);
      return false;
    }
    return this.launch(chosen);
  }

  /** The first candidate that can run the server, and what every tried one answered. */
  private async choose(): Promise<{ chosen: InterpreterCandidate | undefined; results: Tried[] }> {
    const results: Tried[] = [];
    for (const candidate of await this.candidates()) {
      const result = await probe(candidate);
      results.push({ candidate, result });
      this.output.info(`Interpreter ${commandLine(candidate)} (${describeSource(candidate.source)}): ${result.ok ? `Python ${result.python}, ready` : result.detail}`);
      if (result.ok) return { chosen: candidate, results };
    }
    return { chosen: undefined, results };
  }

  private async launch(interpreter: InterpreterCandidate): Promise<boolean> {
    const config = vscode.workspace.getConfiguration('astra.server');
    const args = serverArgs(config.get<unknown[]>('args'));
    const trusted = vscode.workspace.isTrusted;
    // Per-workspace storage when a folder is open; either way outside the workspace.
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    this.output.info(`Starting ${commandLine(interpreter)} ${args.join(' ')} (workspace ${trusted ? 'trusted' : 'untrusted'})`);
    const serverOptions: ServerOptions = {
      command: interpreter.command,
      args: [...(interpreter.prefix ?? []), ...args],
      // Never the workspace folder: see pythonEnv() on why the working directory matters.
      options: { cwd: os.homedir(), env: pythonEnv() },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: initializationOptions(trusted, config.get<unknown>('indexCache'),
        storage.scheme === 'file' ? storage.fsPath : undefined, vscode.workspace.getConfiguration().get('astra'),
        config.get<unknown>('logLevel')),
      diagnosticCollectionName: 'astra',
      // Hovers link to "Open the full state"; only that command may run from server markdown.
      markdown: { isTrusted: { enabledCommands: ['astra-ls.showStateAtLine'] } },
    };
    const client = new LanguageClient('astra', 'Astra Language Server', serverOptions, clientOptions);
    client.onNotification(STORE_CHANGED_NOTIFICATION, (payload: StoreChanged) => this.storeChanged.fire(payload));
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.client = undefined;
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
  private async explainUnavailable(results: Tried[]): Promise<void> {
    if (results.length === 0) return;
    const tried = results.map(({ candidate, result }) =>
      `${commandLine(candidate)} (${describeSource(candidate.source)}): ${result.ok ? 'ready' : result.detail}`);
    const install = 'Install astra-ls';
    const choose = 'Choose Interpreter';
    const choice = await vscode.window.showWarningMessage(
      `Astra: no Python interpreter can run the language server. Tried ${tried.join('; ')}.`,
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
