import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandPath, initializationOptions, installSteps, interpreterCandidates, pickWheel, serverArgs, venvPython } from '../../core/launch';

const base = { home: '/home/u', workspaceFolder: '/ws', pythonExtensionInterpreter: undefined, privateEnvironmentPython: undefined };

describe('interpreter resolution', () => {
  it('uses only the setting when astra.server.python is set, without fallbacks', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '${workspaceFolder}/.venv/bin/python', pythonExtensionInterpreter: '/py' });
    assert.deepEqual(c, [{ command: '/ws/.venv/bin/python', source: 'setting' }]);
  });

  it('treats a blank setting as unset', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '   ' });
    assert.deepEqual(c, [{ command: 'python3', source: 'default' }]);
  });

  it('prefers the Python extension, then the private environment, then python3', () => {
    const c = interpreterCandidates({ ...base, configuredPython: '', pythonExtensionInterpreter: '/ext/python', privateEnvironmentPython: '/store/venv/bin/python' });
    assert.deepEqual(c.map((x) => x.source), ['python-extension', 'private-environment', 'default']);
  });

  it('lists an interpreter once even when two sources name it', () => {
    const c = interpreterCandidates({ ...base, configuredPython: undefined, pythonExtensionInterpreter: 'python3' });
    assert.deepEqual(c, [{ command: 'python3', source: 'python-extension' }]);
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
  it('creates a venv, then installs the bundled wheel with its interpreter', () => {
    const steps = installSteps('python3', '/s/server-venv', '/ext/server-wheel/astra_ls-0.1.0-py3-none-any.whl', 'linux');
    assert.deepEqual(steps[0].args, ['-m', 'venv', '--clear', '/s/server-venv']);
    assert.equal(steps[1].command, '/s/server-venv/bin/python');
    assert.equal(steps[1].args.at(-1), '/ext/server-wheel/astra_ls-0.1.0-py3-none-any.whl');
  });

  it('falls back to the package index without a wheel', () => {
    assert.equal(installSteps('python3', '/v', undefined, 'linux')[1].args.at(-1), 'astra-ls');
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
