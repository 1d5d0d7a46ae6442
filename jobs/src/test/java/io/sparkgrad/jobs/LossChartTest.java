package io.sparkgrad.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static io.sparkgrad.jobs.LossChart.PLOT_BOTTOM;
import static io.sparkgrad.jobs.LossChart.PLOT_LEFT;
import static io.sparkgrad.jobs.LossChart.PLOT_RIGHT;
import static io.sparkgrad.jobs.LossChart.PLOT_TOP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Draws charts into a temporary directory, reads the PNGs back and checks what is on them: size,
 * white background, where the curve-coloured pixels are. Plus the log-scale rule and the ticks.
 */
class LossChartTest {
    private static final int PLOT_WIDTH = PLOT_RIGHT - PLOT_LEFT;
    private static final int PLOT_HEIGHT = PLOT_BOTTOM - PLOT_TOP;
    private static final int WHITE = 0xFFFFFF;

    @TempDir
    Path dir;

    @Test
    void decreasingCurveFallsFromLeftToRight() throws IOException {
        double[] loss = new double[200];
        for (int i = 0; i < loss.length; i++) {
            loss[i] = 2.5 * Math.exp(-i / 20.0) + 0.05;
        }
        BufferedImage img = draw("decreasing.png", loss);
        assertBasics(img);
        assertEquals(0, curvePixelsOutsidePlot(img), "curve drawn outside the plot area");

        double left = meanCurveY(img, PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH / 10);
        double right = meanCurveY(img, PLOT_RIGHT - PLOT_WIDTH / 10, PLOT_RIGHT);
        assertTrue(left < right - PLOT_HEIGHT / 2.0,
            "curve should start high and end low: mean y " + left + " at the left, " + right + " at the right");
        // The first value is the maximum: at the top of the plot, just inside the 5% margin.
        int first = (int) Math.round(xOfIteration(1, loss.length));
        double top = meanCurveY(img, first - 2, first + 2);
        assertTrue(top > PLOT_TOP && top < PLOT_TOP + PLOT_HEIGHT * 0.1, "first point at y " + top);

        // n > 50: a plain line, no markers; the tail is nearly flat, so a column cuts it thinly.
        int tail = (int) Math.round(xOfIteration(150, loss.length));
        assertTrue(curveHeight(img, tail) <= 4, "line too thick (markers?): " + curveHeight(img, tail) + " px");

        // Something is written above the plot area (the title).
        assertTrue(darkPixels(img, PLOT_LEFT, PLOT_RIGHT, 0, PLOT_TOP) > 50, "no title drawn");
    }

    @Test
    void singlePointIsDrawnInTheMiddle() throws IOException {
        BufferedImage img = draw("single.png", new double[] {0.693});
        assertBasics(img);
        double[] c = curveCentroid(img);
        assertTrue(Math.abs(c[0] - (PLOT_LEFT + PLOT_RIGHT) / 2.0) < PLOT_WIDTH * 0.05, "x " + c[0]);
        assertTrue(Math.abs(c[1] - (PLOT_TOP + PLOT_BOTTOM) / 2.0) < PLOT_HEIGHT * 0.15, "y " + c[1]);
    }

    @Test
    void constantValuesGiveAFlatLineAcrossThePlot() throws IOException {
        double[] loss = new double[30];
        Arrays.fill(loss, 0.7);
        BufferedImage img = draw("constant.png", loss);
        assertBasics(img);

        int minX = Integer.MAX_VALUE;
        int maxX = Integer.MIN_VALUE;
        int minY = Integer.MAX_VALUE;
        int maxY = Integer.MIN_VALUE;
        for (int y = PLOT_TOP; y <= PLOT_BOTTOM; y++) {
            for (int x = PLOT_LEFT; x <= PLOT_RIGHT; x++) {
                if (isCurve(img, x, y)) {
                    minX = Math.min(minX, x);
                    maxX = Math.max(maxX, x);
                    minY = Math.min(minY, y);
                    maxY = Math.max(maxY, y);
                }
            }
        }
        assertTrue(maxX - minX > PLOT_WIDTH * 0.85, "line spans x " + minX + ".." + maxX);
        assertTrue(maxY - minY <= 14, "line should be flat; spans y " + minY + ".." + maxY);
        // The range is padded around the value, so the line is in the middle, not on an edge.
        double mid = (minY + maxY) / 2.0;
        assertTrue(Math.abs(mid - (PLOT_TOP + PLOT_BOTTOM) / 2.0) < PLOT_HEIGHT * 0.1, "line at y " + mid);

        // n <= 50: a point marker on each point makes the curve taller there than between points.
        int atPoint = (int) Math.round(xOfIteration(10, loss.length));
        int between = (int) Math.round((xOfIteration(10, loss.length) + xOfIteration(11, loss.length)) / 2);
        assertTrue(curveHeight(img, atPoint) >= 5, "no marker at iteration 10: " + curveHeight(img, atPoint) + " px");
        assertTrue(curveHeight(img, between) <= 3, "line too thick: " + curveHeight(img, between) + " px");
    }

    @Test
    void sixDecadesAreDrawnOnALogScale() throws IOException {
        // 10 down to 1e-6, geometrically: a straight line on a log axis, an L on a linear one.
        int n = 100;
        double[] loss = new double[n];
        for (int i = 0; i < n; i++) {
            loss[i] = 10 * Math.pow(10, -7.0 * i / (n - 1));
        }
        assertTrue(LossChart.logScale(loss));
        BufferedImage img = draw("log.png", loss);
        assertBasics(img);
        assertEquals(0, curvePixelsOutsidePlot(img), "curve drawn outside the plot area");

        double atQuarter = meanCurveY(img, PLOT_LEFT + PLOT_WIDTH / 4 - 3, PLOT_LEFT + PLOT_WIDTH / 4 + 3);
        double atHalf = meanCurveY(img, PLOT_LEFT + PLOT_WIDTH / 2 - 3, PLOT_LEFT + PLOT_WIDTH / 2 + 3);
        double atThreeQuarters = meanCurveY(img, PLOT_LEFT + 3 * PLOT_WIDTH / 4 - 3, PLOT_LEFT + 3 * PLOT_WIDTH / 4 + 3);
        // On a linear axis everything past the first few points would lie on the bottom edge.
        assertTrue(Math.abs(atHalf - (PLOT_TOP + PLOT_BOTTOM) / 2.0) < PLOT_HEIGHT * 0.2, "middle at y " + atHalf);
        // Straight: equal drops over equal distances.
        double firstDrop = atHalf - atQuarter;
        double secondDrop = atThreeQuarters - atHalf;
        assertTrue(firstDrop > PLOT_HEIGHT * 0.15, "drop " + firstDrop);
        assertTrue(Math.abs(firstDrop - secondDrop) < 6, "not straight: drops " + firstDrop + ", " + secondDrop);
    }

    @Test
    void nonFiniteValuesAreSkippedLeavingAGap() throws IOException {
        double[] loss = new double[100];
        for (int i = 0; i < loss.length; i++) {
            loss[i] = 2.0 - i * 0.015;
        }
        for (int i = 40; i < 60; i++) {
            loss[i] = Double.NaN;
        }
        loss[75] = Double.POSITIVE_INFINITY;
        loss[99] = Double.NaN;
        BufferedImage img = draw("nan.png", loss);
        assertBasics(img);
        assertEquals(0, curvePixelsOutsidePlot(img), "an infinite value stretched the curve off the plot");

        // Iteration 50 is in the NaN gap: no curve there; on both sides of it there is.
        int gap = (int) Math.round(xOfIteration(50, 100));
        assertEquals(0, curvePixelsIn(img, gap - 5, gap + 5), "line drawn across the NaN gap");
        assertTrue(curvePixelsIn(img, gap - 90, gap - 70) > 0, "no curve before the gap");
        assertTrue(curvePixelsIn(img, gap + 70, gap + 90) > 0, "no curve after the gap");
        // Still falling left to right, and the infinite value did not flatten the finite ones.
        double left = meanCurveY(img, PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH / 10);
        double right = meanCurveY(img, PLOT_RIGHT - PLOT_WIDTH / 10, PLOT_RIGHT);
        assertTrue(left < right - PLOT_HEIGHT / 2.0, "left " + left + ", right " + right);
    }

    @Test
    void noFiniteValuesGiveEmptyAxesWithANote() throws IOException {
        BufferedImage img = draw("none.png", new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NaN});
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        assertEquals(WHITE, rgb(img, 0, 0), "top-left corner");
        assertEquals(0, curvePixelsIn(img, 0, LossChart.WIDTH - 1), "curve pixels with no finite loss");
        int cy = (PLOT_TOP + PLOT_BOTTOM) / 2;
        assertTrue(darkPixels(img, PLOT_LEFT + 100, PLOT_RIGHT - 100, cy - 30, cy + 30) > 30, "no note drawn");
    }

    @Test
    void refusesNullAndEmptyArrays() {
        Path png = dir.resolve("x.png");
        IllegalArgumentException onNull = assertThrows(IllegalArgumentException.class,
            () -> LossChart.write(png, "t", null));
        IllegalArgumentException onEmpty = assertThrows(IllegalArgumentException.class,
            () -> LossChart.write(png, "t", new double[0]));
        assertTrue(onNull.getMessage().contains("LossChart.write"), onNull.getMessage());
        assertTrue(onEmpty.getMessage().contains("LossChart.write"), onEmpty.getMessage());
        assertFalse(png.toFile().exists());
    }

    @Test
    void logScaleOnlyForPositiveLossesSpanningMoreThanTwoDecades() {
        assertTrue(LossChart.logScale(new double[] {1, 0.0099}));
        assertFalse(LossChart.logScale(new double[] {1, 0.01}), "exactly 100 is not more than 100");
        assertFalse(LossChart.logScale(new double[] {1, 0.001, 0}), "zero cannot go on a log axis");
        assertFalse(LossChart.logScale(new double[] {1, 0.001, -0.5}));
        assertTrue(LossChart.logScale(new double[] {Double.NaN, 10, Double.POSITIVE_INFINITY, 0.01}),
            "non-finite values are ignored");
        assertFalse(LossChart.logScale(new double[] {Double.NaN}));
    }

    @Test
    void ticksAreFiveToSevenMultiplesOfAOneTwoFiveStep() {
        Random random = new Random(42);
        for (int trial = 0; trial < 20_000; trial++) {
            double lo = (random.nextDouble() - 0.3) * Math.pow(10, random.nextInt(16) - 8);
            double hi = lo + random.nextDouble() * Math.pow(10, random.nextInt(16) - 8);
            checkTicks(LossChart.axis(lo, hi, false, false), lo, hi, false);
        }
        for (int n = 5; n <= 20_000; n++) {
            checkTicks(LossChart.axis(1, n, true, false), 1, n, true);
        }
        // Where a 1-2-5 step gives 5-6 ticks, that is the one used.
        assertEquals(Arrays.asList("0", "0.5", "1", "1.5", "2", "2.5"),
            Arrays.asList(LossChart.axis(0.05, 2.5, false, false).labels()));
        assertEquals(Arrays.asList("0", "20", "40", "60", "80", "100"),
            Arrays.asList(LossChart.axis(1, 100, true, false).labels()));
        // Decades on a log axis, labelled as powers of ten.
        assertEquals(Arrays.asList("0.001", "0.01", "0.1", "1", "10", "100"),
            Arrays.asList(LossChart.axis(-3, 2, true, true).labels()));
        assertEquals(Arrays.asList("1e-7", "1.5e-7", "2e-7", "2.5e-7", "3e-7"),
            Arrays.asList(LossChart.axis(1e-7, 3e-7, false, false).labels()));
    }

    /** 5-7 ticks, inside the axis range, evenly spaced by m * 10^e with m in {1, 2, 5}, covering the data. */
    private static void checkTicks(LossChart.Axis axis, double lo, double hi, boolean integer) {
        String where = "[" + lo + ", " + hi + "] -> " + Arrays.toString(axis.labels());
        double[] t = axis.ticks();
        assertTrue(t.length >= 5 && t.length <= 7, "tick count: " + where);
        assertTrue(axis.lo() <= lo && axis.hi() >= hi, "axis does not cover the data: " + where);
        assertTrue(t[0] >= axis.lo() && t[t.length - 1] <= axis.hi(), "tick outside the axis: " + where);
        BigDecimal step = new BigDecimal(axis.labels()[1]).subtract(new BigDecimal(axis.labels()[0]));
        for (int i = 1; i < t.length; i++) {
            BigDecimal d = new BigDecimal(axis.labels()[i]).subtract(new BigDecimal(axis.labels()[i - 1]));
            assertEquals(0, d.compareTo(step), "uneven ticks: " + where);
        }
        String mantissa = step.stripTrailingZeros().unscaledValue().toString();
        assertTrue(mantissa.equals("1") || mantissa.equals("2") || mantissa.equals("5"), "step " + step + ": " + where);
        if (integer) {
            assertTrue(step.compareTo(BigDecimal.ONE) >= 0, "fractional iteration step: " + where);
        }
    }

    // ---------------------------------------------------------------------------------------------

    private BufferedImage draw(String name, double[] loss) throws IOException {
        Path png = dir.resolve(name);
        LossChart.write(png, "test: " + name, loss);
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null, "not a readable image: " + png);
        return img;
    }

    /** 800x500, white corners, and curve-coloured pixels in the plot area. */
    private static void assertBasics(BufferedImage img) {
        assertEquals(800, img.getWidth());
        assertEquals(500, img.getHeight());
        assertEquals(WHITE, rgb(img, 0, 0), "top-left corner");
        assertEquals(WHITE, rgb(img, img.getWidth() - 1, img.getHeight() - 1), "bottom-right corner");
        assertTrue(curvePixelsIn(img, PLOT_LEFT, PLOT_RIGHT) > 0, "no curve-coloured pixels in the plot area");
    }

    private static int rgb(BufferedImage img, int x, int y) {
        return img.getRGB(x, y) & 0xFFFFFF;
    }

    private static boolean isCurve(BufferedImage img, int x, int y) {
        return rgb(img, x, y) == (LossChart.CURVE.getRGB() & 0xFFFFFF);
    }

    /** The x pixel of iteration i of n, from the same 5% margin rule the chart uses. */
    private static double xOfIteration(int i, int n) {
        double lo = 1 - 0.05 * (n - 1);
        double hi = n + 0.05 * (n - 1);
        return PLOT_LEFT + (i - lo) / (hi - lo) * PLOT_WIDTH;
    }

    /** Curve-coloured pixels in columns x0..x1 of the plot area. */
    private static int curvePixelsIn(BufferedImage img, int x0, int x1) {
        int count = 0;
        for (int x = Math.max(0, x0); x <= Math.min(img.getWidth() - 1, x1); x++) {
            for (int y = PLOT_TOP; y <= PLOT_BOTTOM; y++) {
                if (isCurve(img, x, y)) {
                    count++;
                }
            }
        }
        return count;
    }

    private static int curvePixelsOutsidePlot(BufferedImage img) {
        int count = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                boolean inside = x >= PLOT_LEFT && x <= PLOT_RIGHT && y >= PLOT_TOP && y <= PLOT_BOTTOM;
                if (!inside && isCurve(img, x, y)) {
                    count++;
                }
            }
        }
        return count;
    }

    /** Mean y of the curve-coloured pixels in columns x0..x1; fails if there are none. */
    private static double meanCurveY(BufferedImage img, int x0, int x1) {
        long sum = 0;
        int count = 0;
        for (int x = x0; x <= x1; x++) {
            for (int y = PLOT_TOP; y <= PLOT_BOTTOM; y++) {
                if (isCurve(img, x, y)) {
                    sum += y;
                    count++;
                }
            }
        }
        assertTrue(count > 0, "no curve pixels in columns " + x0 + ".." + x1);
        return (double) sum / count;
    }

    /** How many curve-coloured pixels column x has (within the plot area). */
    private static int curveHeight(BufferedImage img, int x) {
        return curvePixelsIn(img, x, x);
    }

    private static double[] curveCentroid(BufferedImage img) {
        long sx = 0;
        long sy = 0;
        int count = 0;
        for (int y = PLOT_TOP; y <= PLOT_BOTTOM; y++) {
            for (int x = PLOT_LEFT; x <= PLOT_RIGHT; x++) {
                if (isCurve(img, x, y)) {
                    sx += x;
                    sy += y;
                    count++;
                }
            }
        }
        assertTrue(count > 0, "no curve pixels in the plot area");
        return new double[] {(double) sx / count, (double) sy / count};
    }

    /** Pixels darker than mid-grey (text, not grid lines or background) in the given box. */
    private static int darkPixels(BufferedImage img, int x0, int x1, int y0, int y1) {
        int count = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                int c = rgb(img, x, y);
                if (((c >> 16) & 0xFF) < 0xA0 && ((c >> 8) & 0xFF) < 0xA0 && (c & 0xFF) < 0xA0) {
                    count++;
                }
            }
        }
        return count;
    }
}
