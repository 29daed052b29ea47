package io.capsule.js.bundle;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bundled program: the script that registers its modules, the entry module's id, and where each
 * module's code sits in the script (to turn script positions in error messages back into file:line).
 *
 * @param code the script
 * @param entry the entry module's id (its path in the project)
 * @param segments each module's first line in the script and its number of lines
 */
public record Bundle(String code, String entry, List<Segment> segments) {
    /** QuickJS names the compiled script "function.mjs" in stack traces and syntax errors. */
    private static final Pattern POSITION = Pattern.compile("\\[?function\\.mjs\\]?:(\\d+)(?::(\\d+))?");

    public record Segment(String id, int firstLine, int lines) {}

    /** Rewrites "function.mjs:LINE:COL" positions into "file:line:col" of the module they fall in. */
    public String mapPositions(String text) {
        Matcher m = POSITION.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int line = Integer.parseInt(m.group(1));
            String mapped = m.group();
            for (Segment s : segments) {
                if (line >= s.firstLine && line < s.firstLine + s.lines) {
                    mapped = s.id + ":" + (line - s.firstLine + 1) + (m.group(2) == null ? "" : ":" + m.group(2));
                    break;
                }
            }
            m.appendReplacement(out, Matcher.quoteReplacement(mapped));
        }
        m.appendTail(out);
        return out.toString();
    }
}
