/*
 * compileGuest: turn a guest program's source (TypeScript or JavaScript ES module) into the
 * body of a CommonJS-style function `(exports, require) => …` that the sandbox can run.
 *
 * The transpiler is TypeScript's own transpileModule (the repository's pinned compiler,
 * loaded lazily: only a thread that compiles pays for loading it).  Types are erased, no type
 * checking happens, and `import … from 'cherisim'` becomes `require("cherisim")`.
 *
 * Refused here, with one line "file:line:column: reason":
 *   - syntax errors;
 *   - imports and re-exports of anything but 'cherisim' (type-only ones are erased, so they
 *     may name any module), `import x = require(…)` of anything else;
 *   - dynamic import() and import.meta: in a vm context without --experimental-vm-modules,
 *     import() rejects with a HOST-realm error, whose constructor chain reaches the host's
 *     Function.  So no import() may ever reach V8: it is refused in the source and, should a
 *     transform ever leave one, in the output too;
 *   - async functions, await and for await: guests run synchronously, and a promise that a
 *     guest leaves rejected would reach the host's 'unhandledRejection' machinery (and crash
 *     the worker).
 *
 * The result is plain data, so one thread can compile and post it to others (fork).
 */
import { createRequire } from 'node:module';
import type * as TS from 'typescript';
import { GuestError, type GuestErrorCode } from './guest_error.js';
import { decodeMappings, type LineMap } from './source_map.js';

/** A compiled guest program.  Plain data: it can be posted to another worker. */
export interface CompiledGuest {
  /** The file name the guest was compiled from; used in stack frames and messages. */
  readonly filename: string;
  /** A function body with parameters (exports, require), in strict mode. */
  readonly code: string;
  /** Positions in `code` → positions in the source. */
  readonly map: LineMap;
}

/** The one module a guest may import. */
export const GUEST_MODULE = 'cherisim';

let typescript: typeof TS | undefined;

function ts(): typeof TS {
  typescript ??= createRequire(import.meta.url)('typescript') as typeof TS;
  return typescript;
}

interface Problem {
  readonly code: GuestErrorCode;
  readonly pos: number;
  readonly reason: string;
}

/** Find what a guest program may not contain. */
function findProblems(t: typeof TS, sf: TS.SourceFile, problems: Problem[]): void {
  const K = t.SyntaxKind;
  const at = (node: TS.Node, code: GuestErrorCode, reason: string) =>
    problems.push({ code, pos: node.getStart(sf), reason });
  const checkSpecifier = (spec: TS.Expression | undefined) => {
    if (spec === undefined) return;
    const text = t.isStringLiteralLike(spec) ? spec.text : undefined;
    if (text !== GUEST_MODULE) {
      const what = text === undefined ? 'a computed module' : `'${text}'`;
      at(
        spec,
        'ERR_GUEST_IMPORT',
        `cannot import ${what}: a guest program can only import '${GUEST_MODULE}'`,
      );
    }
  };
  const visit = (node: TS.Node): void => {
    switch (node.kind) {
      // `import type` and `export type … from` are erased: they may name any module.
      case K.ImportDeclaration:
        if (!(node as TS.ImportDeclaration).importClause?.isTypeOnly) {
          checkSpecifier((node as TS.ImportDeclaration).moduleSpecifier);
        }
        break;
      case K.ExportDeclaration:
        if (!(node as TS.ExportDeclaration).isTypeOnly)
          checkSpecifier((node as TS.ExportDeclaration).moduleSpecifier);
        break;
      case K.ImportEqualsDeclaration: {
        const ref = (node as TS.ImportEqualsDeclaration).moduleReference;
        if (t.isExternalModuleReference(ref)) checkSpecifier(ref.expression);
        break;
      }
      case K.CallExpression:
        if ((node as TS.CallExpression).expression.kind === K.ImportKeyword) {
          at(
            node,
            'ERR_GUEST_IMPORT',
            `dynamic import() is not available to guest programs; use a static import from '${GUEST_MODULE}'`,
          );
        }
        break;
      case K.MetaProperty:
        if ((node as TS.MetaProperty).keywordToken === K.ImportKeyword) {
          at(node, 'ERR_GUEST_IMPORT', 'import.meta is not available to guest programs');
        }
        break;
      case K.AwaitExpression:
        at(node, 'ERR_GUEST_ASYNC', 'await is not available: guest programs run synchronously');
        break;
      case K.ForOfStatement:
        if ((node as TS.ForOfStatement).awaitModifier) {
          at(node, 'ERR_GUEST_ASYNC', 'for await is not available: guest programs run synchronously');
        }
        break;
      default:
        if (t.canHaveModifiers(node)) {
          const async = t.getModifiers(node)?.find((m) => m.kind === K.AsyncKeyword);
          if (async)
            at(
              async,
              'ERR_GUEST_ASYNC',
              'async functions are not available: guest programs run synchronously',
            );
        }
    }
    t.forEachChild(node, visit);
  };
  visit(sf);
}

function fail(sf: TS.SourceFile | undefined, filename: string, p: Problem, more: number): never {
  const lc = sf?.getLineAndCharacterOfPosition(p.pos);
  const reason = more > 0 ? `${p.reason} (and ${more} more)` : p.reason;
  throw new GuestError(p.code, filename, reason, lc ? { line: lc.line + 1, column: lc.character + 1 } : {});
}

/**
 * Compile a guest program.  Throws a GuestError (ERR_GUEST_SOURCE, ERR_GUEST_SYNTAX,
 * ERR_GUEST_IMPORT or ERR_GUEST_ASYNC) whose message is one line.
 */
export function compileGuest(filename: string, source: string): CompiledGuest {
  const ext = /\.(ts|mts|js|mjs)$/.exec(filename)?.[1];
  if (ext === undefined) {
    throw new GuestError(
      'ERR_GUEST_SOURCE',
      filename,
      'a guest program must be a .ts, .mts, .js or .mjs file',
    );
  }
  if (typeof source !== 'string')
    throw new GuestError('ERR_GUEST_SOURCE', filename, 'the source is not a string');
  const t = ts();
  // .mts/.mjs would make TypeScript keep ES module syntax: compile them under .ts/.js names.
  const fileName = filename.replace(/\.m([tj]s)$/, '.$1');
  const problems: Problem[] = [];
  let sourceFile: TS.SourceFile | undefined;
  const out = t.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: {
      module: t.ModuleKind.CommonJS,
      target: t.ScriptTarget.ES2022,
      moduleDetection: t.ModuleDetectionKind.Force,
      esModuleInterop: false,
      sourceMap: true,
      inlineSources: false,
      removeComments: false,
    },
    transformers: {
      before: [
        () => (sf) => {
          sourceFile = sf;
          findProblems(t, sf, problems);
          return sf;
        },
      ],
    },
  });
  const syntax = out.diagnostics ?? [];
  if (syntax.length > 0) {
    const d = syntax[0]!;
    const message = t.flattenDiagnosticMessageText(d.messageText, ' ');
    const p: Problem = { code: 'ERR_GUEST_SYNTAX', pos: d.start ?? 0, reason: `syntax error: ${message}` };
    fail(d.file ?? sourceFile, filename, p, syntax.length - 1);
  }
  if (problems.length > 0) fail(sourceFile, filename, problems[0]!, problems.length - 1);

  const code = out.outputText.replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  // Defence in depth: nothing in the emitted code may be an import() or an ES module form.
  const emitted = t.createSourceFile('emitted.js', code, t.ScriptTarget.ES2022, true, t.ScriptKind.JS);
  const leftovers: Problem[] = [];
  findProblems(t, emitted, leftovers);
  if (
    leftovers.length > 0 ||
    emitted.statements.some((s) => t.isImportDeclaration(s) || t.isExportDeclaration(s))
  ) {
    throw new GuestError('ERR_GUEST_IMPORT', filename, 'the transpiled program still contains an import');
  }
  const map = decodeMappings(
    (JSON.parse(out.sourceMapText ?? '{"mappings":""}') as { mappings: string }).mappings,
  );
  return { filename, code, map };
}
