// The hand-written Core* interfaces of web/src/core.ts against what the wasm
// module actually registers (Embind prototypes and class functions): every
// method declared exists with the declared number of arguments, and every
// registered method is declared. So neither side can drift from the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import { loadCore } from '../../web/dist/index.js';
import { repoRoot } from './helpers.mjs';

const ts = createRequire(join(repoRoot, 'web/package.json'))('typescript');

/** name → { methods: Map(name → parameter count), props: Map(name → type node), construct: count } of each interface. */
function interfaces() {
  const file = join(repoRoot, 'web/src/core.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out = new Map();
  const members = (list) => {
    const methods = new Map(), props = new Map();
    let construct = null;
    for (const m of list) {
      if (ts.isMethodSignature(m)) methods.set(m.name.getText(source), m.parameters.length);
      else if (ts.isPropertySignature(m)) props.set(m.name.getText(source), m.type);
      else if (ts.isConstructSignatureDeclaration(m)) construct = m.parameters.length;
    }
    return { methods, props, construct };
  };
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) out.set(node.name.text, members(node.members));
  });
  return { out, members, source };
}

/** Own methods Embind registered on a class's prototype (inherited ClassHandle ones excluded). */
const registered = (proto) => Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof proto[n] === 'function');

test('the Core* interfaces of web/src/core.ts match the Embind module', async () => {
  const core = await loadCore();
  const { out: decl, members, source } = interfaces();
  const module = decl.get('CoreModule');
  assert.ok(module, 'core.ts declares CoreModule');

  // Embind classes: CoreModule.X is the class (statics, or a constructor), CoreX its instances.
  const classes = [...module.props.keys()].filter((k) => typeof core[k] === 'function' && core[k].prototype && decl.has(`Core${k}`));
  assert.ok(classes.length >= 4, `Embind classes declared on CoreModule: ${classes}`);
  for (const name of classes) {
    const cls = core[name];
    const instance = decl.get(`Core${name}`);
    const declared = new Map(instance.methods);
    declared.delete('delete'); // ClassHandle's, on every Embind object
    const actual = registered(cls.prototype);
    assert.deepEqual(actual.sort(), [...declared.keys()].sort(), `Core${name}: methods declared vs registered`);
    for (const [m, n] of declared) assert.equal(cls.prototype[m].argCount, n, `Core${name}.${m}: number of arguments`);
    assert.equal(typeof cls.prototype.delete, 'function');

    // The type CoreModule gives the class: its static functions, or a constructor.
    const type = module.props.get(name);
    const statics = Object.getOwnPropertyNames(cls).filter((k) => typeof cls[k] === 'function' && cls[k].argCount !== undefined);
    if (ts.isConstructorTypeNode(type)) {
      assert.deepEqual(statics, [], `${name}: declared as a constructor, but has class functions ${statics}`);
    } else {
      assert.ok(ts.isTypeLiteralNode(type), `CoreModule.${name}: expected a type literal or a constructor type`);
      const s = members(type.members).methods;
      assert.deepEqual(statics.sort(), [...s.keys()].sort(), `${name}: class functions declared vs registered`);
      for (const [m, n] of s) assert.equal(cls[m].argCount, n, `${name}.${m}: number of arguments`);
    }
  }

  // Free functions and the heap view.
  for (const [name, n] of module.methods) {
    assert.equal(typeof core[name], 'function', `CoreModule.${name} is registered`);
    if (core[name].argCount !== undefined) assert.equal(core[name].argCount, n, `${name}: number of arguments`);
  }
  for (const [name, type] of module.props) {
    if (classes.includes(name)) continue;
    assert.ok(core[name] !== undefined, `CoreModule.${name} (${type.getText(source)}) exists`);
  }
});
