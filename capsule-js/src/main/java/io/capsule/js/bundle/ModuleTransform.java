package io.capsule.js.bundle;

import com.caoccao.javet.swc4j.Swc4j;
import com.caoccao.javet.swc4j.ast.expr.Swc4jAstCallExpr;
import com.caoccao.javet.swc4j.ast.expr.Swc4jAstClassExpr;
import com.caoccao.javet.swc4j.ast.expr.Swc4jAstFnExpr;
import com.caoccao.javet.swc4j.ast.expr.Swc4jAstIdent;
import com.caoccao.javet.swc4j.ast.expr.Swc4jAstMetaPropExpr;
import com.caoccao.javet.swc4j.ast.expr.lit.Swc4jAstStr;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAst;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstDecl;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstExportSpecifier;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstImportSpecifier;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstModuleExportName;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstModuleItem;
import com.caoccao.javet.swc4j.ast.interfaces.ISwc4jAstProgram;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportAll;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportDecl;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportDefaultDecl;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportDefaultExpr;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportNamedSpecifier;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstExportNamespaceSpecifier;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstImport;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstImportDecl;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstImportDefaultSpecifier;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstImportNamedSpecifier;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstImportStarAsSpecifier;
import com.caoccao.javet.swc4j.ast.module.Swc4jAstNamedExport;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstArrayPat;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstAssignPat;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstAssignPatProp;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstBindingIdent;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstKeyValuePatProp;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstObjectPat;
import com.caoccao.javet.swc4j.ast.pat.Swc4jAstRestPat;
import com.caoccao.javet.swc4j.ast.program.Swc4jAstModule;
import com.caoccao.javet.swc4j.ast.stmt.Swc4jAstClassDecl;
import com.caoccao.javet.swc4j.ast.stmt.Swc4jAstFnDecl;
import com.caoccao.javet.swc4j.ast.stmt.Swc4jAstVarDecl;
import com.caoccao.javet.swc4j.ast.stmt.Swc4jAstVarDeclarator;
import com.caoccao.javet.swc4j.enums.Swc4jMediaType;
import com.caoccao.javet.swc4j.enums.Swc4jParseMode;
import com.caoccao.javet.swc4j.enums.Swc4jSourceMapOption;
import com.caoccao.javet.swc4j.exceptions.Swc4jCoreException;
import com.caoccao.javet.swc4j.options.Swc4jParseOptions;
import com.caoccao.javet.swc4j.options.Swc4jTranspileOptions;
import com.caoccao.javet.swc4j.outputs.Swc4jTranspileOutput;
import com.caoccao.javet.swc4j.span.Swc4jSpan;
import io.capsule.core.options.InvalidTaskException;
import java.net.MalformedURLException;
import java.net.URL;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns one source file into the body of a module factory: TypeScript is transpiled (swc4j, in process),
 * ES module syntax is rewritten into calls on the harness's module registry, and every statically named
 * dependency is listed for the bundler to resolve.
 *
 * <p>The rewrite keeps line numbers: import and export statements are blanked in place (their newlines
 * kept) and the bindings they introduce are declared in a prelude that the bundler puts on the factory's
 * first line. Imports are bound once, when the module runs (not live bindings); exports are live getters.
 */
final class ModuleTransform {
    static final String DEFAULT_LOCAL = "__capsule_default";
    private static final Pattern EXPORT_DEFAULT = Pattern.compile("export\\s+default\\s*");
    private static final Pattern EXPORT = Pattern.compile("export\\s+");
    private static final Pattern SYNTAX_LOCATION = Pattern.compile("\\s*at file:///app/(\\S+?):(\\d+):(\\d+)\\s*$");
    private static final ThreadLocal<Swc4j> SWC = ThreadLocal.withInitial(Swc4j::new);

    /** The result: factory body, prelude (one line), and the specifiers it needs resolved. */
    record Result(String prelude, String body, Set<String> requests, Set<String> importRequests, LineMap lines, boolean commonJs) {}

    private ModuleTransform() {}

    /**
     * @param id the module's path inside the project ("lib/util.ts"), used in error messages
     * @param source the file's text
     * @param typescript whether to strip types first
     * @param allowScript whether the file may be a classic (CommonJS) script rather than an ES module
     */
    static Result transform(String id, String source, Swc4jMediaType typescript, boolean allowScript) {
        String js = source;
        LineMap lines = null;
        if (typescript != null) {
            try {
                Swc4jTranspileOutput out = SWC.get().transpile(source, new Swc4jTranspileOptions()
                        .setSpecifier(url(id))
                        .setMediaType(typescript)
                        .setParseMode(Swc4jParseMode.Module)
                        .setSourceMap(Swc4jSourceMapOption.Separate)
                        .setInlineSources(false));
                js = out.getCode();
                lines = LineMap.parse(out.getSourceMap());
            } catch (Swc4jCoreException e) {
                throw syntaxError(id, e);
            }
        }
        ISwc4jAstProgram<?> program = parse(id, js, allowScript);
        return new ModuleTransform.Rewriter(id, js, lines, allowScript).rewrite(program);
    }

    private static ISwc4jAstProgram<?> parse(String id, String js, boolean allowScript) {
        try {
            return SWC.get().parse(js, options(id, Swc4jParseMode.Module)).getProgram();
        } catch (Swc4jCoreException moduleError) {
            if (allowScript) {
                try {
                    return SWC.get().parse(js, options(id, Swc4jParseMode.Script)).getProgram();
                } catch (Swc4jCoreException ignored) {
                    // Report the error as a module: that is how the file is most likely meant.
                }
            }
            throw syntaxError(id, moduleError);
        }
    }

    private static Swc4jParseOptions options(String id, Swc4jParseMode mode) {
        return new Swc4jParseOptions()
                .setSpecifier(url(id))
                .setMediaType(Swc4jMediaType.JavaScript)
                .setParseMode(mode)
                .setCaptureAst(true);
    }

    private static URL url(String id) {
        try {
            return new URL("file:///app/" + id);
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** "SyntaxError: Expression expected ... at file:///app/main.ts:3:11" -> "main.ts:3:11: SyntaxError: ..." */
    static InvalidTaskException syntaxError(String id, Swc4jCoreException e) {
        String message = e.getMessage() == null ? "syntax error" : e.getMessage().strip();
        String location = id;
        Matcher m = SYNTAX_LOCATION.matcher(message);
        if (m.find()) {
            location = m.group(1) + ":" + m.group(2) + ":" + m.group(3);
            message = message.substring(0, m.start()).strip();
        }
        return new InvalidTaskException(location + ": " + message);
    }

    /** Applies the rewrite to one parsed file. Offsets from swc4j count code points, not UTF-16 units. */
    private static final class Rewriter {
        private final String id;
        private final String code;
        private final boolean surrogates;
        private final List<int[]> cuts = new ArrayList<>();
        private final List<String> pastes = new ArrayList<>();
        private final StringBuilder prelude = new StringBuilder();
        private final Map<String, String> getters = new LinkedHashMap<>();
        private final Set<String> requests = new LinkedHashSet<>();
        private final Set<String> importRequests = new LinkedHashSet<>();
        private final Map<String, String> required = new LinkedHashMap<>();
        private final List<String> stars = new ArrayList<>();
        private boolean esm;

        private final LineMap lines;

        private final boolean allowScript;

        Rewriter(String id, String code, LineMap lines, boolean allowScript) {
            this.allowScript = allowScript;
            this.id = id;
            this.code = code;
            this.lines = lines;
            this.surrogates = code.codePoints().count() != code.length();
        }

        Result rewrite(ISwc4jAstProgram<?> program) {
            if (program instanceof Swc4jAstModule module) {
                for (ISwc4jAstModuleItem item : module.getBody()) {
                    moduleItem(item);
                }
            }
            scan(program);
            StringBuilder head = new StringBuilder();
            if (esm) {
                head.append("__capsule_rt.esm(exports, {");
                boolean first = true;
                for (Map.Entry<String, String> g : getters.entrySet()) {
                    head.append(first ? "" : ", ").append(quote(g.getKey())).append(": () => ").append(g.getValue());
                    first = false;
                }
                head.append("}); ");
            }
            head.append(prelude);
            for (String star : stars) {
                head.append("__capsule_rt.star(exports, ").append(star).append("); ");
            }
            return new Result(head.toString(), apply(), requests, importRequests, lines, !esm && allowScript);
        }

        private void moduleItem(ISwc4jAstModuleItem item) {
            if (item instanceof Swc4jAstImportDecl d) {
                esm = true;
                blank(d.getSpan());
                if (d.isTypeOnly()) {
                    return;
                }
                String m = require(d.getSrc().getValue());
                for (ISwc4jAstImportSpecifier s : d.getSpecifiers()) {
                    if (s instanceof Swc4jAstImportDefaultSpecifier def) {
                        bind(def.getLocal().getSym(), "__capsule_rt.def(" + m + ")");
                    } else if (s instanceof Swc4jAstImportStarAsSpecifier star) {
                        bind(star.getLocal().getSym(), "__capsule_rt.ns(" + m + ")");
                    } else if (s instanceof Swc4jAstImportNamedSpecifier named && !named.isTypeOnly()) {
                        String imported = named.getImported().map(Rewriter::name).orElse(named.getLocal().getSym());
                        bind(named.getLocal().getSym(), imported.equals("default")
                                ? "__capsule_rt.def(" + m + ")" : m + "[" + quote(imported) + "]");
                    }
                }
            } else if (item instanceof Swc4jAstExportDecl d) {
                esm = true;
                stripKeyword(d.getSpan(), EXPORT, "");
                for (String local : declared(d.getDecl())) {
                    getters.put(local, local);
                }
            } else if (item instanceof Swc4jAstExportDefaultDecl d) {
                esm = true;
                String local = d.getDecl() instanceof Swc4jAstFnExpr f ? f.getIdent().map(Swc4jAstIdent::getSym).orElse(null)
                        : d.getDecl() instanceof Swc4jAstClassExpr c ? c.getIdent().map(Swc4jAstIdent::getSym).orElse(null)
                        : null;
                if (local != null) {
                    stripKeyword(d.getSpan(), EXPORT_DEFAULT, "");
                    getters.put("default", local);
                } else {
                    stripKeyword(d.getSpan(), EXPORT_DEFAULT, "const " + DEFAULT_LOCAL + " = ");
                    getters.put("default", DEFAULT_LOCAL);
                }
            } else if (item instanceof Swc4jAstExportDefaultExpr d) {
                esm = true;
                stripKeyword(d.getSpan(), EXPORT_DEFAULT, "const " + DEFAULT_LOCAL + " = ");
                getters.put("default", DEFAULT_LOCAL);
            } else if (item instanceof Swc4jAstNamedExport d) {
                esm = true;
                blank(d.getSpan());
                if (d.isTypeOnly()) {
                    return;
                }
                String m = d.getSrc().map(src -> require(src.getValue())).orElse(null);
                for (ISwc4jAstExportSpecifier s : d.getSpecifiers()) {
                    if (s instanceof Swc4jAstExportNamedSpecifier named && !named.isTypeOnly()) {
                        String orig = name(named.getOrig());
                        String exported = named.getExported().map(Rewriter::name).orElse(orig);
                        getters.put(exported, m == null ? orig
                                : orig.equals("default") ? "__capsule_rt.def(" + m + ")" : m + "[" + quote(orig) + "]");
                    } else if (s instanceof Swc4jAstExportNamespaceSpecifier ns && m != null) {
                        getters.put(name(ns.getName()), "__capsule_rt.ns(" + m + ")");
                    }
                }
            } else if (item instanceof Swc4jAstExportAll d) {
                esm = true;
                blank(d.getSpan());
                if (!d.isTypeOnly()) {
                    stars.add(require(d.getSrc().getValue()));
                }
            }
        }

        /** Dynamic import(), require("literal") and import.meta anywhere in the file. */
        private void scan(ISwc4jAst root) {
            Deque<ISwc4jAst> todo = new ArrayDeque<>();
            todo.push(root);
            while (!todo.isEmpty()) {
                ISwc4jAst node = todo.pop();
                if (node instanceof Swc4jAstCallExpr call) {
                    String literal = call.getArgs().size() >= 1 && call.getArgs().get(0).getExpr() instanceof Swc4jAstStr s
                            ? s.getValue() : null;
                    if (call.getCallee() instanceof Swc4jAstImport imp) {
                        replace(imp.getSpan(), "__capsule_import");
                        if (literal != null) {
                            requests.add(literal);
                        }
                    } else if (call.getCallee() instanceof Swc4jAstIdent ident && ident.getSym().equals("require")
                            && literal != null && call.getArgs().size() == 1) {
                        requests.add(literal);
                    }
                } else if (node instanceof Swc4jAstMetaPropExpr meta && meta.getKind().name().equals("ImportMeta")) {
                    replace(meta.getSpan(), "__capsule_meta");
                }
                List<ISwc4jAst> children = node.getChildNodes();
                for (int i = children.size() - 1; i >= 0; i--) {
                    if (children.get(i) != null) {
                        todo.push(children.get(i));
                    }
                }
            }
        }

        private String require(String specifier) {
            requests.add(specifier);
            importRequests.add(specifier);
            return required.computeIfAbsent(specifier, s -> {
                String local = "__capsule_m" + required.size();
                prelude.append("const ").append(local).append(" = require(").append(quote(s)).append("); ");
                return local;
            });
        }

        private void bind(String local, String expression) {
            prelude.append("const ").append(local).append(" = ").append(expression).append("; ");
        }

        private static List<String> declared(ISwc4jAstDecl decl) {
            List<String> names = new ArrayList<>();
            if (decl instanceof Swc4jAstFnDecl f) {
                names.add(f.getIdent().getSym());
            } else if (decl instanceof Swc4jAstClassDecl c) {
                names.add(c.getIdent().getSym());
            } else if (decl instanceof Swc4jAstVarDecl v) {
                for (Swc4jAstVarDeclarator d : v.getDecls()) {
                    bindings(d.getName(), names);
                }
            }
            return names;
        }

        /** Names bound by a declaration pattern (not the ones inside default values). */
        private static void bindings(ISwc4jAst pat, List<String> out) {
            if (pat instanceof Swc4jAstBindingIdent b) {
                out.add(b.getId().getSym());
            } else if (pat instanceof Swc4jAstObjectPat o) {
                o.getProps().forEach(p -> bindings(p, out));
            } else if (pat instanceof Swc4jAstArrayPat a) {
                a.getElems().forEach(e -> e.ifPresent(p -> bindings(p, out)));
            } else if (pat instanceof Swc4jAstAssignPat a) {
                bindings(a.getLeft(), out);
            } else if (pat instanceof Swc4jAstRestPat r) {
                bindings(r.getArg(), out);
            } else if (pat instanceof Swc4jAstAssignPatProp p) {
                out.add(p.getKey().getId().getSym());
            } else if (pat instanceof Swc4jAstKeyValuePatProp p) {
                bindings(p.getValue(), out);
            }
        }

        private static String name(ISwc4jAstModuleExportName n) {
            return n instanceof Swc4jAstIdent i ? i.getSym() : ((Swc4jAstStr) n).getValue();
        }

        /** Replaces a statement by as many newlines as it spans, so later lines keep their numbers. */
        private void blank(Swc4jSpan span) {
            int start = index(span.getStart());
            int end = index(span.getEnd());
            String text = code.substring(start, end);
            replaceChars(start, end, "\n".repeat((int) text.chars().filter(c -> c == '\n').count()));
        }

        private void stripKeyword(Swc4jSpan span, Pattern keyword, String replacement) {
            int start = index(span.getStart());
            Matcher m = keyword.matcher(code).region(start, code.length());
            if (!m.lookingAt() || m.group().contains("\n")) {
                throw new InvalidTaskException(id + ": cannot rewrite the export at line " + span.getLine()
                        + " (put 'export' and 'default' on the declaration's line)");
            }
            replaceChars(start, m.end(), replacement);
        }

        private void replace(Swc4jSpan span, String text) {
            replaceChars(index(span.getStart()), index(span.getEnd()), text);
        }

        private void replaceChars(int start, int end, String text) {
            cuts.add(new int[] {start, end});
            pastes.add(text);
        }

        private int index(int codePoint) {
            return surrogates ? code.offsetByCodePoints(0, codePoint) : codePoint;
        }

        private String apply() {
            Integer[] order = new Integer[cuts.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (a, b) -> Integer.compare(cuts.get(a)[0], cuts.get(b)[0]));
            StringBuilder out = new StringBuilder(code.length() + 64);
            int at = 0;
            for (int i : order) {
                int[] cut = cuts.get(i);
                if (cut[0] < at) {
                    continue; // inside a statement already replaced (an import() in a blanked export)
                }
                out.append(code, at, cut[0]).append(pastes.get(i));
                at = cut[1];
            }
            return out.append(code, at, code.length()).toString();
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\u2028' -> b.append("\\u2028");
                case '\u2029' -> b.append("\\u2029");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
