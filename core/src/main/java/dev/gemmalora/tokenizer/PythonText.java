package dev.gemmalora.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Python's str.strip/rstrip/split() semantics: every character for which str.isspace() is true
 * (Unicode Zs, Zl, Zp and the bidi white-space controls), which Java's trim and \s do not cover.
 */
public final class PythonText {
    private PythonText() {
    }

    public static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || (c >= 0x1c && c <= 0x1f) || c == 0x85;
    }

    public static String strip(String s) {
        int a = 0;
        int b = s.length();
        while (a < b && isSpace(s.charAt(a))) {
            a++;
        }
        while (b > a && isSpace(s.charAt(b - 1))) {
            b--;
        }
        return s.substring(a, b);
    }

    public static String rstrip(String s) {
        int b = s.length();
        while (b > 0 && isSpace(s.charAt(b - 1))) {
            b--;
        }
        return s.substring(0, b);
    }

    /** str.split() with no argument: runs of white space separate, no empty pieces. */
    public static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && isSpace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !isSpace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                out.add(s.substring(start, i));
            }
        }
        return out;
    }
}
