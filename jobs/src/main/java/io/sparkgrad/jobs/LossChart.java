package io.sparkgrad.jobs;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Draws a training-loss curve (x: iteration 1..n, y: loss) as an 800x500 PNG with plain Java2D.
 *
 * <p>Only a {@link BufferedImage} is drawn on, so this works on a headless JVM; nothing global is
 * set. The y axis is logarithmic when every finite loss is positive and they span more than two
 * decades (max/min &gt; 100), linear otherwise. NaN and infinite losses are left out of the axis
 * range and break the line (a gap); a chart with no finite loss at all shows empty axes and a note.
 *
 * <p>Ticks are the multiples of a 1-2-5 step (1, 2, 5, 10, 20, ...; on a log axis, powers of ten
 * every 1, 2, 5, ... decades) chosen to give 5-6 ticks. Some ranges fall between two steps (0..30
 * has 7 ticks at step 5 and 4 at step 10): there 7 ticks are kept, or, if the finer step gives
 * more than 7, the axis is stretched by a step to reach 5 (see {@link #axis}).
 */
public final class LossChart {
    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    /** The plot area, in pixels: the data (with a 5% margin) maps onto this rectangle. */
    static final int PLOT_LEFT = 90;
    static final int PLOT_RIGHT = 770;
    static final int PLOT_TOP = 50;
    static final int PLOT_BOTTOM = 430;

    /** The colour of the curve, its markers and the ring on the last point; nothing else uses it. */
    static final Color CURVE = new Color(0x15, 0x65, 0xC0);

    private static final Color BACKGROUND = Color.WHITE;
    private static final Color GRID = new Color(0xE3, 0xE3, 0xE3);
    private static final Color AXIS = new Color(0x44, 0x44, 0x44);
    private static final Color TEXT = new Color(0x22, 0x22, 0x22);
    private static final Color NOTE = new Color(0x77, 0x77, 0x77);

    private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    private static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    private static final Font TICK_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font NOTE_FONT = new Font(Font.SANS_SERIF, Font.ITALIC, 13);

    /** Fraction of the data range left empty at each end of an axis. */
    private static final double MARGIN = 0.05;
    /** Point markers are drawn on every point up to this many points. */
    private static final int MARKER_LIMIT = 50;

    private LossChart() {
    }

    /**
     * An axis: the value range mapped onto the plot area, and the tick positions with their labels.
     * On a log axis the range and the ticks are in log10 units (a tick at -2 is labelled "0.01").
     */
    record Axis(double lo, double hi, double[] ticks, String[] labels) {
    }

    /**
     * Writes the loss curve {@code loss[0..n-1]}, plotted at iterations 1..n, to {@code png}
     * (parent directories are created).
     *
     * @param png   the file to write
     * @param title drawn at the top; null draws no title
     * @param loss  the loss per iteration; NaN and infinite values are skipped
     * @throws IllegalArgumentException if {@code png} or {@code loss} is null, or {@code loss} is empty
     * @throws UncheckedIOException     if the file cannot be written
     */
    public static void write(Path png, String title, double[] loss) {
        if (png == null) {
            throw new IllegalArgumentException("LossChart.write: png path is null");
        }
        if (loss == null || loss.length == 0) {
            throw new IllegalArgumentException("LossChart.write: loss array is "
                + (loss == null ? "null" : "empty") + "; need at least one value");
        }
        BufferedImage image = render(title, loss);
        try {
            Path parent = png.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (OutputStream out = Files.newOutputStream(png)) {
                if (!ImageIO.write(image, "png", out)) {
                    throw new IllegalStateException("LossChart.write: no PNG writer in this JDK");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("LossChart.write: cannot write " + png, e);
        }
    }

    /** True when the y axis should be logarithmic: every finite loss is > 0 and max/min > 100. */
    static boolean logScale(double[] loss) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : loss) {
            if (Double.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return min > 0 && min != Double.POSITIVE_INFINITY && max / min > 100;
    }

    // ---------------------------------------------------------------------------------------------
    // Rendering

    private static BufferedImage render(String title, double[] loss) {
        int n = loss.length;
        boolean log = logScale(loss);

        // The finite range of the (on a log axis, log10 of the) losses.
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        int finite = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            if (Double.isFinite(loss[i])) {
                double y = log ? Math.log10(loss[i]) : loss[i];
                yMin = Math.min(yMin, y);
                yMax = Math.max(yMax, y);
                finite++;
                last = i;
            }
        }
        if (finite == 0) {
            yMin = 0;
            yMax = 1;
        }
        Axis xAxis = axis(1, n, true, false);
        Axis yAxis = axis(yMin, yMax, log, log);

        // Pixel position of every point; NaN where the loss is not finite.
        double[] xs = new double[n];
        double[] ys = new double[n];
        for (int i = 0; i < n; i++) {
            xs[i] = px(xAxis, i + 1);
            ys[i] = Double.isFinite(loss[i]) ? py(yAxis, log ? Math.log10(loss[i]) : loss[i]) : Double.NaN;
        }

        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
            g.setColor(BACKGROUND);
            g.fillRect(0, 0, WIDTH, HEIGHT);

            drawFrame(g, xAxis, yAxis, log);
            if (title != null && !title.isEmpty()) {
                g.setFont(TITLE_FONT);
                g.setColor(TEXT);
                drawCentered(g, title, (PLOT_LEFT + PLOT_RIGHT) / 2.0, 32);
            }

            g.setFont(NOTE_FONT);
            g.setColor(NOTE);
            if (finite == 0) {
                drawCentered(g, "no finite loss values", (PLOT_LEFT + PLOT_RIGHT) / 2.0,
                    (PLOT_TOP + PLOT_BOTTOM) / 2.0);
                return image;
            }
            if (finite < n) {
                // Top right: a falling loss curve leaves that corner empty.
                int skipped = n - finite;
                String note = skipped + " non-finite value" + (skipped == 1 ? "" : "s") + " skipped";
                g.drawString(note, PLOT_RIGHT - 8 - g.getFontMetrics().stringWidth(note), PLOT_TOP + 18);
            }
            drawCurve(g, xs, ys);
            annotateLast(g, loss[last], last, xs, ys);
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Grid lines, the plot border, ticks with their labels, and the two axis labels. */
    private static void drawFrame(Graphics2D g, Axis x, Axis y, boolean log) {
        g.setStroke(new BasicStroke(1f));
        g.setColor(GRID);
        for (double t : x.ticks()) {
            double p = px(x, t);
            g.draw(new Line2D.Double(p, PLOT_TOP, p, PLOT_BOTTOM));
        }
        for (double t : y.ticks()) {
            double p = py(y, t);
            g.draw(new Line2D.Double(PLOT_LEFT, p, PLOT_RIGHT, p));
        }

        g.setColor(AXIS);
        g.drawRect(PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP);

        g.setFont(TICK_FONT);
        FontMetrics fm = g.getFontMetrics();
        for (int i = 0; i < x.ticks().length; i++) {
            double p = px(x, x.ticks()[i]);
            g.draw(new Line2D.Double(p, PLOT_BOTTOM, p, PLOT_BOTTOM + 5));
            drawCentered(g, x.labels()[i], p, PLOT_BOTTOM + 8 + fm.getAscent());
        }
        for (int i = 0; i < y.ticks().length; i++) {
            double p = py(y, y.ticks()[i]);
            g.draw(new Line2D.Double(PLOT_LEFT - 5, p, PLOT_LEFT, p));
            String s = y.labels()[i];
            g.drawString(s, (float) (PLOT_LEFT - 8 - fm.stringWidth(s)),
                (float) (p + (fm.getAscent() - fm.getDescent()) / 2.0));
        }

        g.setFont(LABEL_FONT);
        g.setColor(TEXT);
        drawCentered(g, "iteration", (PLOT_LEFT + PLOT_RIGHT) / 2.0, HEIGHT - 22);
        // The y label reads bottom to top, rotated about its own centre.
        AffineTransform saved = g.getTransform();
        double cx = 24;
        double cy = (PLOT_TOP + PLOT_BOTTOM) / 2.0;
        g.rotate(-Math.PI / 2, cx, cy);
        drawCentered(g, log ? "loss (log scale)" : "loss", cx, cy + g.getFontMetrics().getAscent() / 2.0);
        g.setTransform(saved);
    }

    /** The line through the finite points (broken at non-finite ones), plus point markers. */
    private static void drawCurve(Graphics2D g, double[] xs, double[] ys) {
        int n = xs.length;
        Path2D.Double path = new Path2D.Double();
        boolean penDown = false;
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(ys[i])) {
                penDown = false;
            } else if (penDown) {
                path.lineTo(xs[i], ys[i]);
            } else {
                path.moveTo(xs[i], ys[i]);
                penDown = true;
            }
        }
        g.setColor(CURVE);
        g.setStroke(new BasicStroke(2.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.draw(path);

        // Markers on every point when there are few; otherwise only on isolated points, which the
        // line alone would not show.
        for (int i = 0; i < n; i++) {
            boolean isolated = (i == 0 || Double.isNaN(ys[i - 1])) && (i == n - 1 || Double.isNaN(ys[i + 1]));
            if (!Double.isNaN(ys[i]) && (n <= MARKER_LIMIT || isolated)) {
                g.fill(new Ellipse2D.Double(xs[i] - 3.5, ys[i] - 3.5, 7, 7));
            }
        }
    }

    /**
     * Rings the last finite point (index {@code last}) and writes its value beside it: to the left
     * (or right, if there is no room) and above the curve under the text (or below, if there is
     * no room above).
     */
    private static void annotateLast(Graphics2D g, double value, int last, double[] xs, double[] ys) {
        double px = xs[last];
        double py = ys[last];
        g.setColor(CURVE);
        g.setStroke(new BasicStroke(1.6f));
        g.draw(new Ellipse2D.Double(px - 6, py - 6, 12, 12));

        String number = format(new BigDecimal(value).round(new MathContext(4)), useScientific(Math.abs(value)));
        String text = last == xs.length - 1
            ? "final loss " + number
            : "last finite loss " + number + " (iteration " + (last + 1) + ")";
        g.setFont(LABEL_FONT);
        g.setColor(TEXT);
        FontMetrics fm = g.getFontMetrics();
        int w = fm.stringWidth(text);
        double tx = px - 10 - w;
        if (tx < PLOT_LEFT + 6) {
            tx = Math.min(px + 10, PLOT_RIGHT - 6 - w);
        }
        // The highest and lowest curve points under the text, the last point included.
        double top = py;
        double bottom = py;
        for (int i = 0; i < xs.length; i++) {
            if (!Double.isNaN(ys[i]) && xs[i] >= tx - 4 && xs[i] <= tx + w + 4) {
                top = Math.min(top, ys[i]);
                bottom = Math.max(bottom, ys[i]);
            }
        }
        double ty = top - 10;
        if (ty - fm.getAscent() < PLOT_TOP + 4) {
            ty = bottom + 10 + fm.getAscent();
            if (ty + fm.getDescent() > PLOT_BOTTOM - 4) {
                ty = py - 10 >= PLOT_TOP + 4 + fm.getAscent() ? py - 10 : py + 10 + fm.getAscent();
            }
        }
        g.drawString(text, (float) tx, (float) ty);
    }

    private static double px(Axis x, double v) {
        return PLOT_LEFT + (v - x.lo()) / (x.hi() - x.lo()) * (PLOT_RIGHT - PLOT_LEFT);
    }

    private static double py(Axis y, double v) {
        return PLOT_BOTTOM - (v - y.lo()) / (y.hi() - y.lo()) * (PLOT_BOTTOM - PLOT_TOP);
    }

    private static void drawCentered(Graphics2D g, String s, double cx, double baseline) {
        g.drawString(s, (float) (cx - g.getFontMetrics().stringWidth(s) / 2.0), (float) baseline);
    }

    // ---------------------------------------------------------------------------------------------
    // Axes and ticks

    /**
     * The axis for data in [lo, hi]: the range widened by a 5% margin at each end (an empty range
     * is first padded around its value), with ticks at the multiples of a 1-2-5 step inside it.
     *
     * <p>The step is the first of 1, 2, 5, 10, 20, ... (times a power of ten) that gives at most 6
     * ticks. Where that is only 3-4 ticks (the sequence jumps from 7 or more straight to 4 or
     * fewer), the finer step is kept if it gives exactly 7; otherwise the coarser one is kept and
     * the axis is stretched, one step at the cheaper end, to 5 ticks. Steps of at least 1 that
     * still give fewer than 5 ticks (a 3-iteration run) are left as they are.
     *
     * @param integerSteps steps of at least 1: for iteration numbers, and for decades on a log axis
     * @param decades      the values are log10 exponents: a tick at t is labelled 10^t
     */
    static Axis axis(double lo, double hi, boolean integerSteps, boolean decades) {
        // A range too narrow to label (all values equal, or equal to ~9 digits) is padded around
        // its centre: by 1 for iterations or zero, else by 10% of the value.
        if (hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) {
            double centre = lo + (hi - lo) / 2;
            double pad = integerSteps || centre == 0 ? 1 : Math.max(Math.abs(centre) * 0.1, Double.MIN_NORMAL);
            lo = centre - pad;
            hi = centre + pad;
        }
        double dataLo = lo;
        double dataHi = hi;
        double margin = (hi - lo) * MARGIN;
        lo -= margin;
        hi += margin;

        // Walk the 1-2-5 steps upward, from one giving ~100 ticks (or from 1 for integer steps),
        // to the first giving at most 6.
        int[] mantissas = {1, 2, 5};
        int exp0 = integerSteps ? 0 : (int) Math.floor(Math.log10(hi - lo)) - 2;
        int i = 0;
        long previousCount = -1;
        while (tickCount(lo, hi, step(mantissas, exp0, i)) > 6) {
            previousCount = tickCount(lo, hi, step(mantissas, exp0, i));
            i++;
        }
        if (tickCount(lo, hi, step(mantissas, exp0, i)) < 5 && previousCount == 7) {
            i--;
        }
        int mantissa = mantissas[i % 3];
        int exp = exp0 + i / 3;
        double step = mantissa * Math.pow(10, exp);
        long first = (long) Math.ceil(lo / step - 1e-9);
        long last = (long) Math.floor(hi / step + 1e-9);

        // Too few ticks after a jump over 5-6: add a tick at whichever end needs less stretching,
        // never taking a linear axis across zero when the data are all on one side of it.
        while (previousCount > 0 && last - first + 1 < 5) {
            double below = (first - 1) * step;
            double above = (last + 1) * step;
            boolean belowOk = decades || !(dataLo >= 0 && below < 0);
            boolean aboveOk = decades || !(dataHi <= 0 && above > 0);
            if (belowOk && (!aboveOk || lo - below < above - hi)) {
                lo = below;
                first--;
            } else {
                hi = above;
                last++;
            }
        }

        // Exact decimal ticks k * m * 10^e, so labels never show floating-point noise.
        int count = (int) Math.max(0, last - first + 1);
        BigDecimal[] exact = new BigDecimal[count];
        double[] ticks = new double[count];
        for (int k = 0; k < count; k++) {
            exact[k] = BigDecimal.valueOf((first + k) * mantissa).scaleByPowerOfTen(exp);
            ticks[k] = exact[k].doubleValue();
            if (decades) {
                exact[k] = BigDecimal.ONE.scaleByPowerOfTen(exact[k].intValueExact());
            }
        }
        // A stretched end sits exactly on its tick (the products above can differ in the last bit).
        if (count > 0) {
            lo = Math.min(lo, ticks[0]);
            hi = Math.max(hi, ticks[count - 1]);
        }

        // One notation for the whole axis: scientific if any tick needs it.
        boolean scientific = false;
        for (BigDecimal t : exact) {
            scientific |= useScientific(Math.abs(t.doubleValue()));
        }
        String[] labels = new String[count];
        for (int k = 0; k < count; k++) {
            labels[k] = format(exact[k], scientific);
        }
        return new Axis(lo, hi, ticks, labels);
    }

    /** The i-th step of the 1-2-5 sequence that starts at 10^exp0. */
    private static double step(int[] mantissas, int exp0, int i) {
        return mantissas[i % 3] * Math.pow(10, exp0 + i / 3);
    }

    /** How many multiples of {@code step} lie in [lo, hi] (allowing for rounding at the ends). */
    private static long tickCount(double lo, double hi, double step) {
        return Math.max(0, (long) Math.floor(hi / step + 1e-9) - (long) Math.ceil(lo / step - 1e-9) + 1);
    }

    /** Plain notation reads badly for very large or very small magnitudes. */
    private static boolean useScientific(double abs) {
        return abs != 0 && (abs >= 1e5 || abs < 1e-3);
    }

    /** "0.25", "1200", or in scientific notation "2.5e-4", "1e6": no trailing zeros, no noise. */
    static String format(BigDecimal v, boolean scientific) {
        BigDecimal s = v.stripTrailingZeros();
        if (s.signum() == 0) {
            return "0";
        }
        if (!scientific) {
            return s.toPlainString();
        }
        String digits = s.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - s.scale();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (s.signum() < 0 ? "-" : "") + mantissa + "e" + exponent;
    }
}
