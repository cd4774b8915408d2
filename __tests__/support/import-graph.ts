/**
 * The value imports between a project's own modules, read with the TypeScript parser, and the cycles they
 * make. A value import is one whose module must be evaluated before the importer's body runs; in a cycle,
 * one of the two sees the other half-initialised. Type-only imports and exports (`import type`,
 * `export type`, `import { type A }`) are erased when compiled; `import()` is asynchronous, and a
 * `require()` inside a function runs when the function does: none of them can be a cycle at load time.
 * Side-effect imports (`import "./x"`) and top-level `require("./x")` count.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const SOURCE_FILE = /\.(ts|js|mjs|cjs)$/;
const SKIP = new Set(["node_modules", "cdktf.out", ".git", ".work", "output"]);
/** What a relative specifier may leave out, in the order Node and TypeScript try it. */
const SUFFIXES = ["", ".ts", ".js", ".mjs", ".cjs", "/index.ts", "/index.js"];

/** Every source file under `paths` (files or folders, relative to `root`), as absolute paths. */
export function sourceFiles(root: string, paths: readonly string[]): string[] {
  const walk = (path: string): string[] => {
    if (!statSync(path).isDirectory()) return SOURCE_FILE.test(path) ? [path] : [];
    return readdirSync(path, { withFileTypes: true })
      .filter((entry) => !SKIP.has(entry.name))
      .flatMap((entry) => walk(join(path, entry.name)));
  };
  return paths.map((path) => join(root, path)).filter((path) => existsSync(path)).flatMap(walk).sort();
}

function typeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // import "./x": a side effect
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return !clause.name && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
}

function typeOnlyExport(node: ts.ExportDeclaration): boolean {
  const clause = node.exportClause;
  return node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
}

/** The specifiers of the modules `text` evaluates before its own body runs. */
export function valueImports(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  const add = (expression: ts.Expression | undefined) => {
    if (expression && ts.isStringLiteralLike(expression)) specifiers.push(expression.text);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !typeOnlyImport(node)) add(node.moduleSpecifier);
    if (ts.isExportDeclaration(node) && !typeOnlyExport(node)) add(node.moduleSpecifier);
    if (ts.isImportEqualsDeclaration(node) && !node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "require") add(node.arguments[0]);
    if (!ts.isFunctionLike(node)) ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers;
}

/** importer → the files among `files` it value-imports. Packages and files outside `files` are left out. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const resolveIn = (from: string, specifier: string): string | undefined => {
    if (!specifier.startsWith(".")) return undefined;
    const base = resolve(dirname(from), specifier);
    const candidates = [...SUFFIXES.map((suffix) => base + suffix), base.replace(/\.js$/, ".ts")];
    return candidates.find((candidate) => known.has(candidate));
  };
  return new Map(
    files.map((file) => {
      const targets = valueImports(file, readFileSync(file, "utf8"))
        .map((specifier) => resolveIn(file, specifier))
        .filter((target): target is string => target !== undefined);
      return [file, [...new Set(targets)]];
    }),
  );
}

/** One cycle per strongly connected component of the graph, each as `a → b → a` with paths relative to `root`. */
export function importCycles(graph: ReadonlyMap<string, readonly string[]>, root: string): string[] {
  // Tarjan's algorithm: the components with more than one module, or one that imports itself, are the cycles.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const connect = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component);
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);

  return components.map((component) => {
    // The shortest way from the component's first module back to itself, found breadth first.
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    const cameFrom = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0 && !cameFrom.has(start)) {
      const node = queue.shift()!;
      for (const next of graph.get(node) ?? []) {
        if (members.has(next) && !cameFrom.has(next)) {
          cameFrom.set(next, node);
          queue.push(next);
        }
      }
    }
    const between: string[] = [];
    for (let node = cameFrom.get(start)!; node !== start; node = cameFrom.get(node)!) between.unshift(node);
    return [start, ...between, start].map((file) => relative(root, file)).join(" → ");
  }).sort();
}
