package io.sparkgrad.np;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Renders float64 arrays the way NumPy's {@code repr()} does with default print options
 * ({@code precision=8, floatmode='maxprec', threshold=1000, edgeitems=3, linewidth=75}), which is
 * also what MXNet prints in numpy mode.
 *
 * <p>The output follows NumPy 1.14 to 2.1. (NumPy 2.2 and later also append {@code , shape=(...)}
 * to summarised arrays; this class does not.)
 *
 * <p>The work splits into three parts, mirroring NumPy's {@code arrayprint} module:
 *
 * <ol>
 *   <li>{@code FloatFormat} looks at the elements that will be printed and picks one format for
 *       all of them: positional or scientific, the number of fractional digits, and left/right
 *       padding, so that the decimal points line up.
 *   <li>{@code dragon4} produces the shortest decimal digits that identify a double, capped at a
 *       given number of digits. It reimplements the Dragon4 variant NumPy uses, so rounding
 *       and ties come out the same.
 *   <li>{@code Renderer} nests the formatted elements in brackets, wraps long rows and puts
 *       {@code ...} in place of the hidden items of a summarised array.
 * </ol>
 */
public final class Format {

    /** NumPy's default {@code linewidth}. */
    private static final int LINE_WIDTH = 75;
    /** NumPy's default {@code precision}: at most this many fractional digits are printed. */
    private static final int PRECISION = 8;
    /** Arrays with more elements than this are summarised. */
    private static final int THRESHOLD = 1000;
    /** Number of items shown at each end of a summarised axis. */
    private static final int EDGE_ITEMS = 3;
    /** Values with a magnitude at or above this force scientific notation. */
    private static final double EXP_CUTOFF_MAX = 1e8;
    /** Nonzero values with a magnitude below this force scientific notation. */
    private static final double EXP_CUTOFF_MIN = 1e-4;
    /** A max/min magnitude ratio above this forces scientific notation. */
    private static final double EXP_CUTOFF_RATIO = 1e3;

    private static final String PREFIX = "array(";
    private static final String SUFFIX = ")";
    private static final String SEPARATOR = ", ";
    private static final String SUMMARY = "...";
    private static final String NAN = "nan";
    private static final String INF = "inf";

    private static final BigInteger TEN = BigInteger.TEN;

    private Format() {}

    /**
     * Renders a dense row-major float64 array exactly as NumPy's {@code repr()} renders it with
     * default print options, for example {@code array([ 0.,  4.,  8., 12.])} or {@code
     * array(14.)}.
     *
     * <p>What the output looks like:
     *
     * <ul>
     *   <li>Each element gets the fewest fractional digits, at most 8, that still identify it,
     *       for example {@code 0.1} and {@code 0.33333333}. Whole numbers keep a trailing
     *       {@code .}, and negative zero prints as {@code -0.}.
     *   <li>Elements are padded with spaces so that their decimal points line up.
     *   <li>All elements switch to scientific notation if, among the finite nonzero
     *       magnitudes, the largest is at least 1e8, the smallest is below 1e-4, or the ratio
     *       between them exceeds 1e3.
     *   <li>NaN and infinities print as {@code nan}, {@code inf} and {@code -inf}.
     *   <li>Rows longer than 75 characters wrap. The next line is indented to the row's
     *       opening bracket.
     *   <li>Arrays with more than 1000 elements show only the first and last 3 items of each
     *       axis, with {@code ...} in between. Only the items shown decide the format.
     *   <li>Empty arrays print as {@code array([], dtype=float64)}. If the shape isn't
     *       {@code (0,)}, it is printed too, as in {@code array([], shape=(2, 0), dtype=float64)}.
     * </ul>
     *
     * @param shape the array's dimensions; an empty shape denotes a 0-d (scalar) array
     * @param data the elements in row-major (C) order; its length must equal the product of
     *     {@code shape}
     * @return the NumPy-style representation, possibly spanning several lines
     * @throws IllegalArgumentException if a dimension is negative or {@code data.length} does
     *     not match the shape
     * @throws NullPointerException if {@code shape} or {@code data} is null
     */
    public static String array(int[] shape, double[] data) {
        return array(shape, data, DType.FLOAT64);
    }

    /**
     * Renders an array of {@code dtype} as NumPy's {@code repr()} does: a float64 array as
     * {@link #array(int[], double[])}; a float32 one with each value's shortest float digits and
     * {@code dtype=float32} after the values, for example {@code array([0.1, 0.7], dtype=float32)}.
     */
    public static String array(int[] shape, double[] data, DType dtype) {
        if (shape == null || data == null) {
            throw new NullPointerException("Format.array: shape and data must not be null");
        }
        long size = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(
                    "Format.array: negative dimension in shape " + shapeTuple(shape));
            }
            size *= d;
            if (size > Integer.MAX_VALUE) {
                // Clamp so an overflowing product cannot wrap around to a matching length.
                size = (long) Integer.MAX_VALUE + 1;
            }
        }
        if (size != data.length) {
            throw new IllegalArgumentException("Format.array: shape " + shapeTuple(shape)
                + " needs " + size + " elements but data has " + data.length);
        }

        if (size == 0) {
            return emptyArray(shape, dtype);
        }

        boolean summarise = size > THRESHOLD;
        int[] strides = strides(shape);
        if (dtype == DType.FLOAT32) {
            data = shortestFloats(shape, strides, data, summarise);
        }
        // With summarisation, only the elements that are actually shown decide the format.
        double[] shown = summarise ? shownElements(shape, strides, data) : data;
        FloatFormat format = new FloatFormat(shown);

        // repr() leaves room for the closing ')' on the last line.
        int lineWidth = LINE_WIDTH - SUFFIX.length();
        // Continuation lines start under the first element: skip over "array(" and "[".
        String nextLinePrefix = " ".repeat(PREFIX.length() + 1);
        Renderer renderer = new Renderer(shape, strides, data, format, summarise);
        if (dtype == DType.FLOAT64) {
            return PREFIX + renderer.render(0, 0, nextLinePrefix, lineWidth) + SUFFIX;
        }
        // numpy's repr ends the values with ',' and moves the dtype to a new line if it does not fit
        String body = PREFIX + renderer.render(0, 0, nextLinePrefix, LINE_WIDTH - 1) + ",";
        String extras = "dtype=" + dtype.numpyName() + SUFFIX;
        int lastLine = body.length() - (body.lastIndexOf('\n') + 1);
        String spacer = lastLine + extras.length() + 1 > LINE_WIDTH ? "\n" + " ".repeat(PREFIX.length()) : " ";
        return body + spacer + extras;
    }

    /**
     * A copy of {@code data} whose shown elements are replaced by the double with their shortest
     * float32 digits (0.7f, 0.699999988079071 as a double, becomes 0.7), so that the float64 digit
     * rules below print what numpy prints for float32.
     */
    private static double[] shortestFloats(int[] shape, int[] strides, double[] data, boolean summarise) {
        double[] out = data.clone();
        if (!summarise) {
            for (int i = 0; i < out.length; i++) {
                out[i] = shortestFloat(out[i]);
            }
        } else {
            shortenShown(shape, strides, out, 0, 0);
        }
        return out;
    }

    private static void shortenShown(int[] shape, int[] strides, double[] data, int axis, int offset) {
        if (axis == shape.length) {
            data[offset] = shortestFloat(data[offset]);
            return;
        }
        for (int i : shownIndices(shape[axis], true)) {
            shortenShown(shape, strides, data, axis + 1, offset + i * strides[axis]);
        }
    }

    /** The double whose decimal digits are the fewest that still round to the float {@code (float) v}. */
    static double shortestFloat(double v) {
        if (!Double.isFinite(v) || v == 0) {
            return v;
        }
        float f = (float) v;
        java.math.BigDecimal exact = new java.math.BigDecimal(f);
        for (int digits = 1; digits <= 9; digits++) {
            java.math.BigDecimal r = exact.round(new java.math.MathContext(digits, java.math.RoundingMode.HALF_EVEN));
            if (Float.parseFloat(r.toString()) == f) {
                return Double.parseDouble(r.toString());
            }
        }
        return f;
    }

    // ---------------------------------------------------------------------------------------
    // Layout
    // ---------------------------------------------------------------------------------------

    /**
     * {@code array([], dtype=float64)} with the shape added unless it's {@code (0,)}. If the
     * extras would push the line past the line width, numpy moves them to a new line.
     */
    private static String emptyArray(int[] shape, DType dtype) {
        String head = PREFIX + "[],";
        String extras = (shape.length == 1 ? "" : "shape=" + shapeTuple(shape) + ", ")
            + "dtype=" + dtype.numpyName() + SUFFIX;
        String spacer = head.length() + extras.length() + 1 > LINE_WIDTH
            ? "\n" + " ".repeat(PREFIX.length())
            : " ";
        return head + spacer + extras;
    }

    /** Python's tuple repr of a shape: {@code ()}, {@code (3,)}, {@code (2, 0)}. */
    private static String shapeTuple(int[] shape) {
        StringBuilder b = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(shape[i]);
        }
        if (shape.length == 1) {
            b.append(',');
        }
        return b.append(')').toString();
    }

    /** Row-major strides in elements. */
    private static int[] strides(int[] shape) {
        int[] strides = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = acc;
            acc *= shape[i];
        }
        return strides;
    }

    /**
     * Indices along one axis that a printout shows: all of them, or only the first and last
     * {@link #EDGE_ITEMS} when the array is summarised and the axis is long enough to hide some.
     */
    private static int[] shownIndices(int length, boolean summarise) {
        if (!summarise || length <= 2 * EDGE_ITEMS) {
            int[] all = new int[length];
            for (int i = 0; i < length; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] edges = new int[2 * EDGE_ITEMS];
        for (int i = 0; i < EDGE_ITEMS; i++) {
            edges[i] = i;
            edges[EDGE_ITEMS + i] = length - EDGE_ITEMS + i;
        }
        return edges;
    }

    /** Gathers the elements a summarised printout shows (NumPy's {@code _leading_trailing}). */
    private static double[] shownElements(int[] shape, int[] strides, double[] data) {
        List<Double> out = new ArrayList<>();
        gather(shape, strides, data, 0, 0, out);
        double[] shown = new double[out.size()];
        for (int i = 0; i < shown.length; i++) {
            shown[i] = out.get(i);
        }
        return shown;
    }

    private static void gather(
            int[] shape, int[] strides, double[] data, int axis, int offset, List<Double> out) {
        if (axis == shape.length) {
            out.add(data[offset]);
            return;
        }
        for (int i : shownIndices(shape[axis], true)) {
            gather(shape, strides, data, axis + 1, offset + i * strides[axis], out);
        }
    }

    /** Removes trailing whitespace, like Python's {@code str.rstrip()}. */
    private static String rstrip(CharSequence s) {
        int end = s.length();
        while (end > 0 && Character.isWhitespace(s.charAt(end - 1))) {
            end--;
        }
        return s.subSequence(0, end).toString();
    }

    /**
     * Nests formatted elements in brackets (NumPy's {@code _formatArray}). Elements of the
     * last axis are joined with {@code ", "} and wrapped when a line gets too long. Rows of
     * higher axes go on separate lines, with one blank line per extra dimension between blocks.
     */
    private static final class Renderer {
        private final int[] shape;
        private final int[] strides;
        private final double[] data;
        private final FloatFormat format;
        private final boolean summarise;

        Renderer(int[] shape, int[] strides, double[] data, FloatFormat format, boolean summarise) {
            this.shape = shape;
            this.strides = strides;
            this.data = data;
            this.format = format;
            this.summarise = summarise;
        }

        /**
         * Renders the sub-array at {@code axis} that starts at element {@code offset}.
         *
         * @param hangingIndent indentation that continuation lines of this sub-array start with
         * @param width maximum line width available to this sub-array, closing brackets
         *     included
         */
        String render(int axis, int offset, String hangingIndent, int width) {
            if (axis == shape.length) {
                return format.format(data[offset]);
            }
            // Nested levels sit one column further right (after their '[') and need one more
            // column at the end of the line for their ']'.
            String nextIndent = hangingIndent + " ";
            int nextWidth = width - 1;
            int length = shape[axis];
            int stride = strides[axis];
            boolean showSummary = summarise && length > 2 * EDGE_ITEMS;
            int[] shown = shownIndices(length, summarise);
            int last = shown.length - 1;
            StringBuilder s = new StringBuilder();

            if (axis == shape.length - 1) {
                // Innermost axis: wrap elements if they would not fit on one line. The ',' or
                // ']' after each element must fit too.
                int elemWidth = width - 1;
                StringBuilder line = new StringBuilder(hangingIndent);
                for (int k = 0; k <= last; k++) {
                    if (showSummary && k == EDGE_ITEMS) {
                        extendLine(s, line, SUMMARY, elemWidth, hangingIndent);
                        line.append(SEPARATOR);
                    }
                    int child = offset + shown[k] * stride;
                    String word = render(axis + 1, child, nextIndent, nextWidth);
                    extendLine(s, line, word, elemWidth, hangingIndent);
                    if (k < last) {
                        line.append(SEPARATOR);
                    }
                }
                s.append(line);
            } else {
                // Outer axes: one sub-array per line. Blocks of 2-d or higher sub-arrays are
                // separated by blank lines.
                String lineSep = rstrip(SEPARATOR) + "\n".repeat(shape.length - axis - 1);
                for (int k = 0; k <= last; k++) {
                    if (showSummary && k == EDGE_ITEMS) {
                        s.append(hangingIndent).append(SUMMARY).append(lineSep);
                    }
                    int child = offset + shown[k] * stride;
                    String nested = render(axis + 1, child, nextIndent, nextWidth);
                    s.append(hangingIndent).append(nested);
                    if (k < last) {
                        s.append(lineSep);
                    }
                }
            }
            // The first line needs no indent, since the caller already placed us. Then add
            // the brackets.
            return "[" + s.substring(hangingIndent.length()) + "]";
        }

        /**
         * Appends {@code word} to {@code line}. If that would make the line longer than
         * {@code width}, first moves the line (minus trailing blanks) into {@code s} and starts
         * a new line. A line that holds nothing beyond its indent never wraps, since that
         * wouldn't help.
         */
        private static void extendLine(
                StringBuilder s, StringBuilder line, String word, int width, String nextPrefix) {
            boolean needsWrap = line.length() + word.length() > width
                && line.length() > nextPrefix.length();
            if (needsWrap) {
                s.append(rstrip(line)).append('\n');
                line.setLength(0);
                line.append(nextPrefix);
            }
            line.append(word);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Choosing a common format for all elements (NumPy's FloatingFormat)
    // ---------------------------------------------------------------------------------------

    /**
     * The format shared by all printed elements. It is chosen from a first pass that prints
     * every finite element in its shortest form.
     */
    private static final class FloatFormat {
        /** Whether elements print as {@code d.ddde+XX}. */
        private final boolean expFormat;
        /** Maximum fractional digits; in scientific mode, also the number always printed. */
        private final int precision;
        /** Minimum number of fractional digits (scientific mode only; -1 for none). */
        private final int minDigits;
        /** Characters left of the decimal point, sign included. */
        private final int padLeft;
        /** Characters right of the decimal point (scientific mode: fraction and exponent). */
        private final int padRight;
        /** Minimum number of exponent digits (scientific mode only). */
        private final int expDigits;

        FloatFormat(double[] values) {
            int finiteCount = 0;
            boolean anyNegInf = false;
            double maxAbs = 0;
            double minAbs = Double.POSITIVE_INFINITY;
            for (double v : values) {
                if (Double.isFinite(v)) {
                    finiteCount++;
                    double a = Math.abs(v);
                    if (a != 0) {
                        maxAbs = Math.max(maxAbs, a);
                        minAbs = Math.min(minAbs, a);
                    }
                } else if (v == Double.NEGATIVE_INFINITY) {
                    anyNegInf = true;
                }
            }
            boolean anyNonZero = maxAbs != 0;
            this.expFormat = anyNonZero
                && (maxAbs >= EXP_CUTOFF_MAX
                    || minAbs < EXP_CUTOFF_MIN
                    || maxAbs / minAbs > EXP_CUTOFF_RATIO);

            int left = 0;
            int right = 0;
            if (finiteCount == 0) {
                // Only nan/inf: no digits to align.
                this.precision = PRECISION;
                this.minDigits = -1;
                this.expDigits = -1;
            } else if (expFormat) {
                // First pass: shortest scientific form of each value (at most 8 fractional
                // digits), noting the longest fraction and exponent.
                int maxFrac = 0;
                int maxExp = 0;
                for (double v : values) {
                    if (!Double.isFinite(v)) {
                        continue;
                    }
                    String str = scientific(v, PRECISION, -1, true, -1, -1);
                    int e = str.indexOf('e');
                    int dot = str.indexOf('.');
                    left = Math.max(left, dot);
                    maxFrac = Math.max(maxFrac, e - dot - 1);
                    maxExp = Math.max(maxExp, str.length() - e - 2); // digits after "e+"
                }
                // Second pass prints every value with exactly maxFrac fractional digits.
                this.precision = maxFrac;
                this.minDigits = maxFrac;
                this.expDigits = maxExp;
                // Width right of the point: fraction, 'e', exponent sign and digits (used to
                // right-align nan/inf).
                right = maxExp + 2 + maxFrac;
            } else {
                // First pass: shortest positional form (at most 8 fractional digits).
                for (double v : values) {
                    if (!Double.isFinite(v)) {
                        continue;
                    }
                    String str = positional(v, PRECISION, -1, true, -1, -1);
                    int dot = str.indexOf('.');
                    left = Math.max(left, dot);
                    right = Math.max(right, str.length() - dot - 1);
                }
                this.precision = PRECISION;
                this.minDigits = 0;
                this.expDigits = -1;
            }

            // nan and inf are right-aligned in the same width as numbers, so they may need more
            // room on the left.
            if (finiteCount != values.length) {
                int offset = right + 1; // +1 for the decimal point
                left = Math.max(left, NAN.length() - offset);
                left = Math.max(left, INF.length() + (anyNegInf ? 1 : 0) - offset);
            }
            this.padLeft = left;
            this.padRight = right;
        }

        /** Formats one element with the shared settings. */
        String format(double x) {
            if (!Double.isFinite(x)) {
                String word = Double.isNaN(x) ? NAN : (x < 0 ? "-" : "") + INF;
                return " ".repeat(Math.max(0, padLeft + padRight + 1 - word.length())) + word;
            }
            if (expFormat) {
                return scientific(x, precision, minDigits, false, padLeft, expDigits);
            }
            return positional(x, precision, minDigits, true, padLeft, padRight);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Single-value formatting (NumPy's dragon4_positional / dragon4_scientific)
    // ---------------------------------------------------------------------------------------

    /**
     * Formats a finite value as {@code [-]ddd.ddd}, always with a decimal point.
     *
     * @param precision maximum number of fractional digits
     * @param minDigits minimum number of digits to generate past the point (-1 for none)
     * @param trimZeros drop trailing fractional zeros (NumPy's {@code trim='.'})
     * @param padLeft pad with spaces on the left to this many characters before the point
     *     (-1 for none)
     * @param padRight pad with spaces on the right to this many characters after the point
     *     (-1 for none)
     */
    private static String positional(
            double x, int precision, int minDigits, boolean trimZeros, int padLeft, int padRight) {
        boolean negative = (Double.doubleToRawLongBits(x) < 0);
        Digits d = dragon4(Math.abs(x), true, precision, minDigits);
        StringBuilder b = new StringBuilder();
        if (negative) {
            b.append('-');
        }
        String digits = d.digits;
        int numWhole;
        int numFrac;
        if (d.exponent >= 0) {
            numWhole = d.exponent + 1;
            if (digits.length() <= numWhole) {
                b.append(digits).append("0".repeat(numWhole - digits.length()));
                numFrac = 0;
            } else {
                b.append(digits, 0, numWhole).append('.').append(digits, numWhole, digits.length());
                numFrac = digits.length() - numWhole;
            }
        } else {
            int zeros = -(d.exponent + 1);
            b.append("0.").append("0".repeat(zeros)).append(digits);
            numWhole = 1;
            numFrac = zeros + digits.length();
        }
        if (numFrac == 0) {
            b.append('.');
        }
        if (!trimZeros && minDigits > numFrac) {
            b.append("0".repeat(minDigits - numFrac));
            numFrac = minDigits;
        }
        if (trimZeros) {
            while (numFrac > 0 && b.charAt(b.length() - 1) == '0') {
                b.setLength(b.length() - 1);
                numFrac--;
            }
        }
        if (padRight >= numFrac) {
            b.append(" ".repeat(padRight - numFrac));
        }
        int leftChars = numWhole + (negative ? 1 : 0);
        if (padLeft > leftChars) {
            b.insert(0, " ".repeat(padLeft - leftChars));
        }
        return b.toString();
    }

    /**
     * Formats a finite value as {@code [-]d.ddde±XX}.
     *
     * @param precision maximum number of fractional mantissa digits
     * @param minDigits minimum number of fractional mantissa digits (-1 for none)
     * @param trimZeros drop trailing fractional zeros (NumPy's {@code trim='.'}); otherwise
     *     pad with zeros up to {@code minDigits} (NumPy's {@code trim='k'})
     * @param padLeft pad with spaces on the left to this many characters before the point
     *     (-1 for none)
     * @param expDigits minimum number of exponent digits (-1 means 2)
     */
    private static String scientific(
            double x, int precision, int minDigits, boolean trimZeros, int padLeft, int expDigits) {
        boolean negative = (Double.doubleToRawLongBits(x) < 0);
        StringBuilder b = new StringBuilder();
        int leftChars = 1 + (negative ? 1 : 0);
        if (padLeft > leftChars) {
            b.append(" ".repeat(padLeft - leftChars));
        }
        if (negative) {
            b.append('-');
        }
        // Scientific cut-offs count all significant digits, so add one for the leading digit.
        Digits d = dragon4(Math.abs(x), false,
            precision < 0 ? -1 : precision + 1, minDigits < 0 ? -1 : minDigits + 1);
        String digits = d.digits;
        b.append(digits.charAt(0)).append('.').append(digits, 1, digits.length());
        int numFrac = digits.length() - 1;
        if (!trimZeros && minDigits > numFrac) {
            b.append("0".repeat(minDigits - numFrac));
        }
        if (trimZeros) {
            while (numFrac > 0 && b.charAt(b.length() - 1) == '0') {
                b.setLength(b.length() - 1);
                numFrac--;
            }
        }
        int exp = d.exponent;
        b.append('e').append(exp < 0 ? '-' : '+');
        String expStr = Integer.toString(Math.abs(exp));
        int width = expDigits < 0 ? 2 : Math.min(expDigits, 5);
        if (expStr.length() < width) {
            b.append("0".repeat(width - expStr.length()));
        }
        return b.append(expStr).toString();
    }

    // ---------------------------------------------------------------------------------------
    // Digit generation (after NumPy's Dragon4)
    // ---------------------------------------------------------------------------------------

    /**
     * Decimal digits of a value: {@code 0.d1d2d3... * 10^(exponent + 1)}, i.e. {@code exponent}
     * is the power of ten of the first digit.
     */
    private static final class Digits {
        final String digits;
        final int exponent;

        Digits(String digits, int exponent) {
            this.digits = digits;
            this.exponent = exponent;
        }
    }

    /**
     * Shortest digits of a non-negative finite double that uniquely identify it among doubles
     * ("unique" mode of Dragon4, after Steele and White, and Burger and Dybvig), stopping early at a
     * cut-off digit. The last digit is then rounded to nearest, with ties going to the even
     * digit. This follows NumPy's implementation step for step, including its borderline
     * choices: a boundary counts as unique when the mantissa is even (IEEE ties-to-even
     * reading).
     *
     * @param v the value, {@code >= 0} (a negative zero's sign is the caller's business)
     * @param fractional whether cut-offs count digits past the decimal point ({@code true}) or
     *     significant digits ({@code false})
     * @param cutoffMax stop after this many digits (-1 for no limit)
     * @param cutoffMin generate at least this many digits (-1 for no minimum)
     */
    private static Digits dragon4(double v, boolean fractional, int cutoffMax, int cutoffMin) {
        long bits = Double.doubleToRawLongBits(v);
        int biasedExponent = (int) ((bits >>> 52) & 0x7ff);
        long fraction = bits & ((1L << 52) - 1);
        long mantissa;
        int exponent;
        boolean unequalMargins;
        if (biasedExponent != 0) {
            // normal: implicit leading bit
            mantissa = fraction | (1L << 52);
            exponent = biasedExponent - 1075;
            // at a power of two the gap to the next lower double is half the gap above
            unequalMargins = biasedExponent != 1 && fraction == 0;
        } else {
            // subnormal
            mantissa = fraction;
            exponent = -1074;
            unequalMargins = false;
        }
        if (mantissa == 0) {
            return new Digits("0", 0);
        }
        boolean isEven = (mantissa & 1) == 0;

        // Work with integers: value = scaledValue / scale, and the half-gaps to the
        // neighbouring doubles are marginLow / scale and marginHigh / scale. The common factor
        // 2^(2 + shift) makes all of them integers.
        int shift = Math.max(0, -exponent);
        BigInteger scale = BigInteger.ONE.shiftLeft(2 + shift);
        BigInteger scaledValue = BigInteger.valueOf(mantissa).shiftLeft(exponent + 2 + shift);
        BigInteger marginHigh = BigInteger.ONE.shiftLeft(exponent + 1 + shift);
        BigInteger marginLow = unequalMargins ? marginHigh.shiftRight(1) : marginHigh;

        // digitExponent: the smallest k with v < 10^k.
        int mantissaBit = 63 - Long.numberOfLeadingZeros(mantissa);
        int digitExponent = (int) Math.ceil((mantissaBit + exponent) * Math.log10(2) - 0.69);
        while (compareToPow10(scaledValue, scale, digitExponent) >= 0) {
            digitExponent++;
        }
        while (compareToPow10(scaledValue, scale, digitExponent - 1) < 0) {
            digitExponent--;
        }
        // With a fractional cut-off, start no lower than the cut-off digit, so a value below it
        // still produces one (rounded) digit.
        if (cutoffMax >= 0 && fractional && digitExponent <= -cutoffMax) {
            digitExponent = -cutoffMax + 1;
        }

        // Divide the value by 10^digitExponent, then multiply by 10 so that the first division
        // by scale yields the first digit.
        if (digitExponent > 0) {
            scale = scale.multiply(TEN.pow(digitExponent));
        } else if (digitExponent < 0) {
            BigInteger pow10 = TEN.pow(-digitExponent);
            scaledValue = scaledValue.multiply(pow10);
            marginLow = marginLow.multiply(pow10);
            marginHigh = marginHigh.multiply(pow10);
        }
        scaledValue = scaledValue.multiply(TEN);
        marginLow = marginLow.multiply(TEN);
        marginHigh = marginHigh.multiply(TEN);

        // Digit positions (as powers of ten) of the last digit allowed, and of the last digit
        // that must be generated.
        int cutoffMaxExponent = Integer.MIN_VALUE;
        if (cutoffMax >= 0) {
            cutoffMaxExponent = fractional ? -cutoffMax : digitExponent - cutoffMax;
        }
        int cutoffMinExponent = digitExponent;
        if (cutoffMin >= 0) {
            cutoffMinExponent = Math.min(digitExponent,
                fractional ? -cutoffMin : digitExponent - cutoffMin);
        }
        int printExponent = digitExponent - 1;

        StringBuilder out = new StringBuilder();
        int digit;
        boolean low;
        boolean high;
        while (true) {
            digitExponent--;
            BigInteger[] qr = scaledValue.divideAndRemainder(scale);
            digit = qr[0].intValue();
            scaledValue = qr[1];
            // low: truncating here stays within half a gap of v; high: rounding up does.
            int cmpLow = scaledValue.compareTo(marginLow);
            low = isEven ? cmpLow <= 0 : cmpLow < 0;
            int cmpHigh = scaledValue.add(marginHigh).compareTo(scale);
            high = isEven ? cmpHigh >= 0 : cmpHigh > 0;
            if (((low || high) && digitExponent <= cutoffMinExponent)
                    || digitExponent == cutoffMaxExponent) {
                break;
            }
            out.append((char) ('0' + digit));
            scaledValue = scaledValue.multiply(TEN);
            marginLow = marginLow.multiply(TEN);
            marginHigh = marginHigh.multiply(TEN);
        }

        // Round the final digit: down if only truncation is safe, up if only rounding up is,
        // otherwise to the nearer one (ties to the even digit).
        boolean roundDown = low;
        if (low == high) {
            int compare = scaledValue.shiftLeft(1).compareTo(scale);
            roundDown = compare < 0 || (compare == 0 && (digit & 1) == 0);
        }
        if (roundDown) {
            out.append((char) ('0' + digit));
        } else if (digit < 9) {
            out.append((char) ('0' + digit + 1));
        } else {
            // Carry: drop trailing 9s and bump the previous digit, or become "1" one decade up.
            int i = out.length() - 1;
            while (i >= 0 && out.charAt(i) == '9') {
                i--;
            }
            if (i < 0) {
                out.setLength(0);
                out.append('1');
                printExponent++;
            } else {
                out.setCharAt(i, (char) (out.charAt(i) + 1));
                out.setLength(i + 1);
            }
        }
        return new Digits(out.toString(), printExponent);
    }

    /** Compares {@code value / scale} with {@code 10^k}, exactly. */
    private static int compareToPow10(BigInteger value, BigInteger scale, int k) {
        if (k >= 0) {
            return value.compareTo(scale.multiply(TEN.pow(k)));
        }
        return value.multiply(TEN.pow(-k)).compareTo(scale);
    }
}
