// Reference side of bench/refs_eval.sh for TypeScript: the TypeScript compiler's own language
// service (`findReferences`) over one source tree.
//
// usage: NODE_DIR=<dir holding node_modules/typescript> node refs_eval_ts.mjs IN.json OUT.json
// IN:  {root, tsconfig, defs: [{id, path, name, start_line, end_line}]}  (paths relative to root,
//      lines 1-based, as codeintel's symbols table has them)
// OUT: {typescript, files, load_ms, results: [{id, found, line, column, ms, refs, def_sites}]}
//      refs: [[path, line, column, in_comment, is_declaration]] for every reference that the
//      service does not mark isDefinition, inside root (is_declaration: the name of a declaration,
//      e.g. an overriding method or an object-literal member implementing an interface member);
//      def_sites: [[path, line]] of what it marks isDefinition (the definition itself, its
//      overload signatures, overriding/implementing members).
import { createRequire } from 'module';
import fs from 'fs';
import path from 'path';

const require = createRequire(path.join(process.env.NODE_DIR || process.cwd(), 'noop.js'));
const ts = require('typescript');

const [inPath, outPath] = process.argv.slice(2);
const input = JSON.parse(fs.readFileSync(inPath, 'utf8'));
const root = path.resolve(input.root);

const t0 = Date.now();
const cfg = ts.readConfigFile(path.join(root, input.tsconfig), ts.sys.readFile);
if (cfg.error) throw new Error(ts.flattenDiagnosticMessageText(cfg.error.messageText, '\n'));
const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, root);
const files = parsed.fileNames;
const host = {
  getScriptFileNames: () => files,
  getScriptVersion: () => '1',
  getScriptSnapshot: (f) =>
    fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, 'utf8')) : undefined,
  getCurrentDirectory: () => root,
  getCompilationSettings: () => parsed.options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const ls = ts.createLanguageService(host, ts.createDocumentRegistry());
const program = ls.getProgram();
const loadMs = Date.now() - t0;

const DECL = new Set([
  ts.SyntaxKind.FunctionDeclaration, ts.SyntaxKind.ClassDeclaration, ts.SyntaxKind.ClassExpression,
  ts.SyntaxKind.MethodDeclaration, ts.SyntaxKind.MethodSignature, ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration, ts.SyntaxKind.EnumDeclaration, ts.SyntaxKind.ModuleDeclaration,
  ts.SyntaxKind.PropertyDeclaration, ts.SyntaxKind.PropertySignature, ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor, ts.SyntaxKind.VariableDeclaration, ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.Constructor,
]);

// Declarations of a file: {name, nodeLine, nameLine, namePos}.
const declCache = new Map();
function declarations(sf) {
  if (declCache.has(sf.fileName)) return declCache.get(sf.fileName);
  const out = [];
  const visit = (node) => {
    if (DECL.has(node.kind)) {
      let nameNode = node.name;
      let name = nameNode && (ts.isIdentifier(nameNode) || ts.isPrivateIdentifier(nameNode) ||
        ts.isStringLiteral(nameNode)) ? nameNode.text : undefined;
      if (node.kind === ts.SyntaxKind.Constructor) {
        nameNode = node.getChildren(sf).find((c) => c.kind === ts.SyntaxKind.ConstructorKeyword);
        name = 'constructor';
      }
      if (name && nameNode) {
        const namePos = nameNode.getStart(sf);
        out.push({
          name,
          nodeLine: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
          nameLine: sf.getLineAndCharacterOfPosition(namePos).line + 1,
          endLine: sf.getLineAndCharacterOfPosition(node.getEnd()).line + 1,
          namePos,
        });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  declCache.set(sf.fileName, out);
  return out;
}

// Whether a position lies in a comment: the service reports JSDoc `{@link x}` references, and
// codeintel by contract never reads comments. The innermost node holding the position (JSDoc nodes
// are children of what they document) is a JSDoc node, or the position is in a token's trivia.
function innermost(sf, pos) {
  let node = sf;
  for (;;) {
    const child = node.getChildren(sf).find((c) => c.getFullStart() <= pos && pos < c.getEnd());
    if (!child) break;
    node = child;
  }
  return node;
}

function inComment(sf, pos) {
  const node = innermost(sf, pos);
  for (let p = node; p && p !== sf; p = p.parent) {
    if (p.kind >= ts.SyntaxKind.FirstJSDocNode && p.kind <= ts.SyntaxKind.LastJSDocNode) return true;
  }
  return node !== sf && pos < node.getStart(sf);
}

// Whether a position is the name of a declaration (not a use of the name).
const DECL_NAME = new Set([...DECL, ts.SyntaxKind.PropertyAssignment, ts.SyntaxKind.EnumMember]);
function isDeclarationName(sf, pos) {
  const node = innermost(sf, pos);
  return !!(node.parent && DECL_NAME.has(node.parent.kind) && node.parent.name === node);
}

const rel = (f) => path.relative(root, f).split(path.sep).join('/');
const results = [];
for (const d of input.defs) {
  const file = path.join(root, d.path);
  const sf = program.getSourceFile(file);
  const res = { id: d.id, found: false, refs: [], def_sites: [] };
  results.push(res);
  if (!sf) continue;
  const cands = declarations(sf).filter(
    (x) => x.name === d.name && x.nameLine >= d.start_line && x.nameLine <= d.end_line);
  if (!cands.length) continue;
  // The declaration starting at the definition's first line, else the outermost in its range.
  const pick = cands.find((x) => x.nodeLine === d.start_line) || cands[0];
  const lc = sf.getLineAndCharacterOfPosition(pick.namePos);
  res.found = true;
  res.line = lc.line + 1;
  res.column = lc.character + 1;
  const t = Date.now();
  const groups = ls.findReferences(file, pick.namePos) || [];
  res.ms = Date.now() - t;
  for (const g of groups) {
    for (const r of g.references) {
      const rsf = program.getSourceFile(r.fileName);
      const p = rel(r.fileName);
      if (!rsf || p.startsWith('..') || path.isAbsolute(p) || r.fileName.endsWith('.d.ts')) continue;
      const rl = rsf.getLineAndCharacterOfPosition(r.textSpan.start);
      if (r.isDefinition) {
        res.def_sites.push([p, rl.line + 1]);
        continue;
      }
      res.refs.push([p, rl.line + 1, rl.character + 1, inComment(rsf, r.textSpan.start),
        isDeclarationName(rsf, r.textSpan.start)]);
    }
  }
}
fs.writeFileSync(outPath, JSON.stringify({
  typescript: ts.version, files: files.length, load_ms: loadMs, results,
}));
