package io.sparkgrad.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Draws charts into a temporary directory, reads the PNGs back and checks what is on them: size,
 * white background, where the curve-coloured pixels are (measured against the curve's own extent,
 * since the plot area is XChart's layout). Plus the log-scale rule.
 */
class LossChartTest {
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
        int[] box = curveBox(img);
        int width = box[2] - box[0];
        int height = box[3] - box[1];
        assertTrue(width > LossChart.WIDTH * 0.7, "curve spans x " + box[0] + ".." + box[2]);
        double left = meanCurveY(img, box[0], box[0] + width / 10);
        double right = meanCurveY(img, box[2] - width / 10, box[2]);
        assertTrue(left < right - height / 2.0,
            "curve should start high and end low: mean y " + left + " at the left, " + right + " at the right");
        // The first value is the maximum: the curve's top is at its left end.
        assertTrue(meanCurveY(img, box[0], box[0] + 2) < box[1] + height * 0.05, "first point not at the top");
        // n > 50: a plain line, no markers; the tail is nearly flat, so a column cuts it thinly.
        int tail = box[0] + (int) Math.round(width * 149.0 / 199);
        assertTrue(curveHeight(img, tail) <= 5, "line too thick (markers?): " + curveHeight(img, tail) + " px");
        // Something is written above the curve (the title).
        assertTrue(darkPixels(img, 0, LossChart.WIDTH, 0, Math.max(1, box[1] - 5)) > 50, "no title drawn");
    }

    @Test
    void singlePointIsDrawnInTheMiddle() throws IOException {
        BufferedImage img = draw("single.png", new double[] {0.693});
        assertBasics(img);
        int[] box = curveBox(img);
        assertTrue(box[2] - box[0] >= 4 && box[2] - box[0] <= 16, "one marker, x " + box[0] + ".." + box[2]);
        double cx = (box[0] + box[2]) / 2.0;
        double cy = (box[1] + box[3]) / 2.0;
        assertTrue(Math.abs(cx - LossChart.WIDTH / 2.0) < LossChart.WIDTH * 0.1, "x " + cx);
        assertTrue(Math.abs(cy - LossChart.HEIGHT / 2.0) < LossChart.HEIGHT * 0.2, "y " + cy);
    }

    @Test
    void constantValuesGiveAFlatLineWithMarkers() throws IOException {
        double[] loss = new double[30];
        Arrays.fill(loss, 0.7);
        BufferedImage img = draw("constant.png", loss);
        assertBasics(img);
        int[] box = curveBox(img);
        assertTrue(box[2] - box[0] > LossChart.WIDTH * 0.7, "line spans x " + box[0] + ".." + box[2]);
        assertTrue(box[3] - box[1] <= 14, "line should be flat; spans y " + box[1] + ".." + box[3]);
        // n <= 50: a marker on each point makes the curve taller there than between points.
        double step = (box[2] - box[0] - 8) / 29.0; // markers' centres, 4 px inside the box's ends
        int atPoint = (int) Math.round(box[0] + 4 + 9 * step);
        int between = (int) Math.round(box[0] + 4 + 9.5 * step);
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
        int[] box = curveBox(img);
        int width = box[2] - box[0];
        double atQuarter = meanCurveY(img, box[0] + width / 4 - 3, box[0] + width / 4 + 3);
        double atHalf = meanCurveY(img, box[0] + width / 2 - 3, box[0] + width / 2 + 3);
        double atThreeQuarters = meanCurveY(img, box[0] + 3 * width / 4 - 3, box[0] + 3 * width / 4 + 3);
        // On a linear axis everything past the first few points would lie on the bottom.
        assertTrue(Math.abs(atHalf - (box[1] + box[3]) / 2.0) < (box[3] - box[1]) * 0.1, "middle at y " + atHalf);
        // Straight: equal drops over equal distances.
        double firstDrop = atHalf - atQuarter;
        double secondDrop = atThreeQuarters - atHalf;
        assertTrue(firstDrop > (box[3] - box[1]) * 0.15, "drop " + firstDrop);
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
        int[] box = curveBox(img);
        // the curve runs from iteration 1 to iteration 99 (the last finite one)
        double perIteration = (box[2] - box[0]) / 98.0;
        int gap = (int) Math.round(box[0] + 49 * perIteration);
        assertEquals(0, curvePixelsIn(img, gap - 5, gap + 5), "line drawn across the NaN gap");
        assertTrue(curvePixelsIn(img, gap - 90, gap - 70) > 0, "no curve before the gap");
        assertTrue(curvePixelsIn(img, gap + 70, gap + 90) > 0, "no curve after the gap");
        // Still falling left to right, and the infinite value did not flatten the finite ones.
        double left = meanCurveY(img, box[0], box[0] + (box[2] - box[0]) / 10);
        double right = meanCurveY(img, box[2] - (box[2] - box[0]) / 10, box[2]);
        assertTrue(left < right - (box[3] - box[1]) / 2.0, "left " + left + ", right " + right);
    }

    @Test
    void noFiniteValuesGiveEmptyAxesWithANote() throws IOException {
        BufferedImage img = draw("none.png", new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NaN});
        assertEquals(LossChart.WIDTH, img.getWidth());
        assertEquals(LossChart.HEIGHT, img.getHeight());
        assertEquals(WHITE, rgb(img, 0, 0), "top-left corner");
        assertEquals(0, curvePixelsIn(img, 0, LossChart.WIDTH - 1), "curve pixels with no finite loss");
        int cx = LossChart.WIDTH / 2;
        int cy = LossChart.HEIGHT / 2;
        assertTrue(darkPixels(img, cx - 150, cx + 150, cy - 30, cy + 30) > 30, "no note drawn");
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

    // ---------------------------------------------------------------------------------------------

    private BufferedImage draw(String name, double[] loss) throws IOException {
        Path png = dir.resolve("sub").resolve(name);
        LossChart.write(png, "test: " + name, loss);
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null, "not a readable image: " + png);
        return img;
    }

    /** 800x500, white corners, and curve-coloured pixels. */
    private static void assertBasics(BufferedImage img) {
        assertEquals(LossChart.WIDTH, img.getWidth());
        assertEquals(LossChart.HEIGHT, img.getHeight());
        assertEquals(WHITE, rgb(img, 0, 0), "top-left corner");
        assertEquals(WHITE, rgb(img, img.getWidth() - 1, img.getHeight() - 1), "bottom-right corner");
        assertTrue(curvePixelsIn(img, 0, img.getWidth() - 1) > 0, "no curve-coloured pixels");
    }

    private static int rgb(BufferedImage img, int x, int y) {
        return img.getRGB(x, y) & 0xFFFFFF;
    }

    /** The curve's colour, or close to it (the line is anti-aliased); no other part of the chart is blue. */
    private static boolean isCurve(BufferedImage img, int x, int y) {
        int c = rgb(img, x, y);
        int r = (c >> 16) & 0xFF;
        int g = (c >> 8) & 0xFF;
        int b = c & 0xFF;
        int cr = LossChart.CURVE.getRed();
        int cg = LossChart.CURVE.getGreen();
        int cb = LossChart.CURVE.getBlue();
        return Math.abs(r - cr) + Math.abs(g - cg) + Math.abs(b - cb) < 90;
    }

    /** The curve's bounding box: {minX, minY, maxX, maxY}; fails when there is no curve. */
    private static int[] curveBox(BufferedImage img) {
        int[] box = {Integer.MAX_VALUE, Integer.MAX_VALUE, -1, -1};
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if (isCurve(img, x, y)) {
                    box[0] = Math.min(box[0], x);
                    box[1] = Math.min(box[1], y);
                    box[2] = Math.max(box[2], x);
                    box[3] = Math.max(box[3], y);
                }
            }
        }
        assertTrue(box[2] >= 0, "no curve pixels");
        return box;
    }

    /** Curve-coloured pixels in columns x0..x1. */
    private static int curvePixelsIn(BufferedImage img, int x0, int x1) {
        int count = 0;
        for (int x = Math.max(0, x0); x <= Math.min(img.getWidth() - 1, x1); x++) {
            for (int y = 0; y < img.getHeight(); y++) {
                if (isCurve(img, x, y)) {
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
            for (int y = 0; y < img.getHeight(); y++) {
                if (isCurve(img, x, y)) {
                    sum += y;
                    count++;
                }
            }
        }
        assertTrue(count > 0, "no curve pixels in columns " + x0 + ".." + x1);
        return (double) sum / count;
    }

    /** How many curve-coloured pixels column x has. */
    private static int curveHeight(BufferedImage img, int x) {
        return curvePixelsIn(img, x, x);
    }

    /** Pixels darker than mid-grey (text, not grid lines or background) in the given box. */
    private static int darkPixels(BufferedImage img, int x0, int x1, int y0, int y1) {
        int count = 0;
        for (int y = Math.max(0, y0); y < Math.min(img.getHeight(), y1); y++) {
            for (int x = Math.max(0, x0); x < Math.min(img.getWidth(), x1); x++) {
                int c = rgb(img, x, y);
                if (((c >> 16) & 0xFF) < 0xA0 && ((c >> 8) & 0xFF) < 0xA0 && (c & 0xFF) < 0xA0) {
                    count++;
                }
            }
        }
        return count;
    }
}
