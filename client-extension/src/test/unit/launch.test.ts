import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  commandLine, expandPath, initializationOptions, installSteps, interpreterCandidates, parseBundle, parseProbe, pickWheel, serverArgs,
  venvPython,
} from '../../core/launch';

const base = { home: '/home/u', workspaceFolder: '/ws', pythonExtensionInterpreter: undefined, privateEnvironmentPython: undefined };

describe('interpreter resolution', () => {
  it('uses only the setting when astra.server.python is set, without fallbacks', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '${workspaceFolder}/.venv/bin/python', pythonExtensionInterpreter: '/py' });
    assert.deepEqual(c, [{ command: '/ws/.venv/bin/python', source: 'setting' }]);
  });

  it('treats a blank setting as unset', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '   ' });
    assert.deepEqual(c, [{ command: 'python3', source: 'default' }, { command: 'python', source: 'default' }]);
  });

  it('prefers the Python extension, then the private environment, then PATH', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '', pythonExtensionInterpreter: '/ext/python', privateEnvironmentPython: '/store/venv/bin/python' });
    assert.deepEqual(c.map((x) => x.source), ['python-extension', 'private-environment', 'default', 'default']);
  });

  it('lists an interpreter once even when two sources name it', () => {
    const c = interpreterCandidates({ ...base, configuredPython: undefined, pythonExtensionInterpreter: 'python3' });
    assert.deepEqual(c, [{ command: 'python3', source: 'python-extension' }, { command: 'python', source: 'default' }]);
  });

  it('tries the py launcher, then python, on Windows (which rarely has python3)', () => {
    const c = interpreterCandidates({ ...base, configuredPython: undefined, platform: 'win32' });
    assert.deepEqual(c.map(commandLine), ['py -3', 'python']);
  });

  it('expands ~ and ${userHome}', () => {
    assert.equal(expandPath('~/venv/bin/python', '/home/u', undefined), '/home/u/venv/bin/python');
    assert.equal(expandPath('${userHome}/p', '/home/u', undefined), '/home/u/p');
    assert.equal(expandPath('${workspaceFolder}/p', '/home/u', undefined), '${workspaceFolder}/p');
  });
});

describe('server arguments', () => {
  it('runs the module in serve mode and appends user arguments', () => {
    assert.deepEqual(serverArgs(['--log-level', 'debug']), ['-m', 'astra_ls', 'serve', '--log-level', 'debug']);
  });

  it('drops non-string entries of a hand-edited setting', () => {
    assert.deepEqual(serverArgs(['-v', 3, null] as unknown[]), ['-m', 'astra_ls', 'serve', '-v']);
    assert.deepEqual(serverArgs(undefined), ['-m', 'astra_ls', 'serve']);
  });
});

describe('private environment install', () => {
  const python3 = { command: 'python3', source: 'default' } as const;

  it('creates a venv, then installs the bundled wheel with its interpreter', () => {
    const steps = installSteps(python3, '/s/server-venv', 'linux', { wheel: '/ext/server-wheel/astra_ls-0.1.0-py3-none-any.whl' });
    assert.deepEqual(steps[0].args, ['-m', 'venv', '--clear', '/s/server-venv']);
    assert.equal(steps[1].command, '/s/server-venv/bin/python');
    assert.equal(steps[1].args.at(-1), '/ext/server-wheel/astra_ls-0.1.0-py3-none-any.whl');
  });

  it('falls back to the package index without a wheel', () => {
    assert.equal(installSteps(python3, '/v', 'linux', { wheel: undefined })[1].args.at(-1), 'astra-ls');
  });

  it('installs a platform bundle offline: no pip needed, no index', () => {
    const bundle = parseBundle('/ext/server-wheel', { target: 'linux-x64', pythons: ['3.12'] },
      ['astra_ls-0.1.0-py3-none-any.whl', 'pip-26.3-py3-none-any.whl', 'bundle.json']);
    assert.ok(bundle);
    const py = { command: 'py', prefix: ['-3'], source: 'default' } as const;
    const steps = installSteps(py, 'C:\\s\\venv', 'win32', { bundle });
    assert.deepEqual(steps[0].args, ['-3', '-m', 'venv', '--without-pip', '--clear', 'C:\\s\\venv']);
    assert.match(steps[1].command, /Scripts[\\/]python\.exe$/);
    assert.ok(steps[1].args.includes('--no-index'));
    assert.match(steps[1].args[0] ?? '', /pip-26\.3-py3-none-any\.whl[\\/]pip$/);
  });

  it('ignores a bundle without pip, without astra-ls, or with a broken manifest', () => {
    assert.equal(parseBundle('/d', { target: 'x', pythons: ['3.12'] }, ['astra_ls-0.1.0-py3-none-any.whl']), undefined);
    assert.equal(parseBundle('/d', { target: 'x', pythons: ['3.12'] }, ['pip-26.3-py3-none-any.whl']), undefined);
    assert.equal(parseBundle('/d', 'nonsense', ['pip-26.3-py3-none-any.whl', 'astra_ls-0.1.0-py3-none-any.whl']), undefined);
  });

  it('knows where a Windows venv keeps its interpreter', () => {
    assert.match(venvPython('C:\\v', 'win32'), /Scripts[\\/]python\.exe$/);
  });

  it('picks the newest astra_ls wheel and ignores other files', () => {
    assert.equal(
      pickWheel(['README', 'astra_ls-0.9.0-py3-none-any.whl', 'astra_ls-0.10.0-py3-none-any.whl', 'other-9.0-py3-none-any.whl']),
      'astra_ls-0.10.0-py3-none-any.whl',
    );
    assert.equal(pickWheel([]), undefined);
  });
});

describe('initialization options', () => {
  it('passes the storage folder as the cache folder, the cache on unless the setting is false', () => {
    assert.deepEqual(initializationOptions(true, undefined, '/storage/astra'), { trusted: true, indexCache: true, cacheDir: '/storage/astra' });
    assert.deepEqual(initializationOptions(false, false, '/s'), { trusted: false, indexCache: false, cacheDir: '/s' });
    assert.deepEqual(initializationOptions(false, 'no', undefined), { trusted: false, indexCache: true });
  });

  it('sends the astra settings as JSON, and nothing but an object', () => {
    const settings = { globs: ['**/.astra/*.jsonl'], severity: { ASTRA020: 'hint' }, missing: undefined };
    assert.deepEqual(initializationOptions(false, true, undefined, settings),
      { trusted: false, indexCache: true, settings: { globs: ['**/.astra/*.jsonl'], severity: { ASTRA020: 'hint' } } });
    for (const odd of [undefined, null, 3, 'x', ['a']]) {
      assert.deepEqual(initializationOptions(false, true, undefined, odd), { trusted: false, indexCache: true });
    }
  });
});

describe('interpreter probe', () => {
  it('reads the probe line', () => {
    assert.deepEqual(parseProbe(0, '{"ok": true, "python": "3.12", "problems": []}\n', ''), { ok: true, python: '3.12' });
  });

  it('says what is wrong with an interpreter that cannot run the server', () => {
    const r = parseProbe(1, '{"ok": false, "python": "3.12", "problems": ["numpy is not installed: reinstall astra-ls for this interpreter"]}', '');
    assert.deepEqual(r, { ok: false, reason: 'unsupported', detail: 'numpy is not installed: reinstall astra-ls for this interpreter' });
  });

  it('tells a missing astra-ls from a crash', () => {
    assert.equal(parseProbe(1, '', "Traceback...\nModuleNotFoundError: No module named 'astra_ls'\n").ok, false);
    const missing = parseProbe(1, '', "/usr/bin/python3: Error while finding module specification for 'astra_ls.probe' (ModuleNotFoundError: No module named 'astra_ls')");
    assert.equal(!missing.ok && missing.reason, 'not-installed');
    const crash = parseProbe(1, '', 'Traceback...\nSyntaxError: invalid syntax\n');
    assert.deepEqual(crash, { ok: false, reason: 'failed', detail: 'SyntaxError: invalid syntax' });
  });
});

describe('server log level', () => {
  it('passes a known level and drops anything else', () => {
    assert.equal(initializationOptions(true, true, undefined, undefined, 'debug').logLevel, 'debug');
    assert.equal(initializationOptions(true, true, undefined, undefined, 'verbose').logLevel, undefined);
  });
});
