package io.capsule.js;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.CapsuleEngine;
import io.capsule.core.Envelope;
import io.capsule.core.ErrorType;
import io.capsule.core.TaskRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every form of ES module syntax the host rewrites, and CommonJS interop, run for real in the sandbox. */
class ModuleSyntaxTest {
    private static CapsuleEngine engine;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        engine = CapsuleEngine.builder().runtime(new JsRuntime()).build();
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    private void write(String name, String text) throws Exception {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    private Envelope runMain(String source) throws Exception {
        write("main.ts", source);
        return engine.run(TaskRequest.file(dir.resolve("main.ts")).projectRoot(dir).build());
    }

    @Test
    void exportForms() throws Exception {
        write("forms.ts", """
                export const a = 1, { b, c: [d] } = { b: 2, c: [3] };
                export let counter = 0;
                export function bump() { counter += 1; }
                export class K { static k = "k"; }
                export enum Color { Red = "red" }
                const hidden = 5;
                export { hidden as shown, hidden };
                export default function named() { return "named-default"; }
                export type Ignored = string;
                """);
        write("anon.js", "export default (x) => x * 2;\n");
        write("anon-class.js", "export default class { get v() { return 'anon-class'; } }\n");
        write("reexport.ts", """
                export * from "./forms";
                export * as anon from "./anon.js";
                export { default as named, shown as renamed } from "./forms";
                export { default } from "./anon-class.js";
                """);
        Envelope e = runMain("""
                import Cls, * as all from "./reexport";
                import { bump, counter } from "./forms";
                import * as live from "./forms";

                export function main() {
                  bump();
                  return [all.a, all.b, all.d, all.K.k, all.Color.Red, all.shown, all.hidden, all.renamed,
                    all.named(), all.anon.default(21), new Cls().v, counter, live.counter,
                    Object.keys(all).includes("default")];
                }
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        // Imported bindings are copied when the module runs (counter: 0); namespaces read live (1).
        assertThat(e.result().toString()).isEqualTo(
                "[1,2,3,\"k\",\"red\",5,5,5,\"named-default\",42,\"anon-class\",0,1,true]");
    }

    @Test
    void commonJsInterop() throws Exception {
        write("node_modules/cjs-lib/package.json", "{\"main\": \"main.js\"}");
        write("node_modules/cjs-lib/main.js", """
                exports.add = function (a, b) { return a + b; };
                exports.name = __filename + "|" + __dirname;
                """);
        write("node_modules/cjs-fn/index.js", "module.exports = function hello() { return 'hi'; };\nmodule.exports.extra = 1;\n");
        write("node_modules/esm-lib/package.json", "{\"exports\": {\"./feature\": {\"require\": \"./f.cjs\", \"default\": \"./f.mjs\"}}}");
        write("node_modules/esm-lib/f.mjs", "export const how = 'import';\nexport default 'esm-default';\n");
        write("node_modules/esm-lib/f.cjs", "exports.how = 'require';\n");
        write("req.cjs", "module.exports = require('esm-lib/feature');\n");
        write("legacy.cjs", "var x = 010; with (Math) { exports.pi = Math.round(PI); } exports.octal = x;\n");
        Envelope e = runMain("""
                import { add, name } from "cjs-lib";
                import hello, { extra } from "cjs-fn";
                import * as ns from "cjs-fn";
                import def, { how } from "esm-lib/feature";
                const required = require("./req.cjs");

                export function main() {
                  const viaRequire = require("./legacy.cjs");
                  return [add(1, 2), name, hello(), extra, typeof ns.default, def, how, required.how, viaRequire.pi, viaRequire.octal];
                }
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("[3,\"/app/node_modules/cjs-lib/main.js|/app/node_modules/cjs-lib\","
                + "\"hi\",1,\"function\",\"esm-default\",\"import\",\"require\",3,8]");
    }

    @Test
    void topLevelAwaitAndImportMetaInTheEntry() throws Exception {
        Envelope e = runMain("""
                const value = await new Promise<number>((r) => setTimeout(() => r(7), 5));
                export const main = () => ({ value, url: import.meta.url });
                """);
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().toString()).isEqualTo("{\"value\":7,\"url\":\"file:///app/main.ts\"}");
    }

    @Test
    void cyclicImportsSeeHoistedFunctions() throws Exception {
        write("a.ts", "import { b } from './b';\nexport function a(n: number): number { return n <= 0 ? 0 : 1 + b(n - 1); }\n");
        write("b.ts", "import * as A from './a';\nexport function b(n: number): number { return n <= 0 ? 0 : 1 + A.a(n - 1); }\n");
        Envelope e = runMain("import { a } from './a';\nexport const main = () => a(5);\n");
        assertThat(e.success()).as(e.toJson()).isTrue();
        assertThat(e.result().asInt()).isEqualTo(5);
    }

    @Test
    void quickJsSyntaxErrorsAreMappedToTheFile() throws Exception {
        // Parses as a module for swc but QuickJS refuses it: await outside an async function in a non-entry module.
        write("lib.js", "export const x = 1;\nexport const y = await Promise.resolve(2);\n");
        Envelope e = runMain("import { x } from './lib.js';\nexport const main = () => x;\n");
        assertThat(e.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(e.error().message()).startsWith("SyntaxError: ").contains("lib.js:2");
    }

    @Test
    void badPackageJsonAndUnexportedSubpathsAreClearErrors() throws Exception {
        write("node_modules/broken/package.json", "{ not json");
        Envelope broken = runMain("import x from 'broken';\nexport const main = () => x;\n");
        assertThat(broken.error().type()).isEqualTo(ErrorType.INVALID_TASK);
        assertThat(broken.error().message()).contains("invalid package.json");

        write("node_modules/closed/package.json", "{\"exports\": {\".\": \"./index.js\"}}");
        write("node_modules/closed/index.js", "module.exports = 1;\n");
        write("node_modules/closed/secret.js", "module.exports = 2;\n");
        Envelope closed = runMain("import s from 'closed/secret';\nexport const main = () => s;\n");
        assertThat(closed.error().message()).contains("not exported");
    }
}
