#include "pipeline/svg.h"

#include <math.h>
#include <stdio.h>

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
enum { N_COLORS = sizeof palette / sizeof palette[0] };

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` ticks over span. */
static double nice_step(double span, int target) {
    double raw = span / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static void frame(StrBuf *o, const char *title, int w, int h) {
    sb_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"sans-serif\" font-size=\"11\">\n", w, h, w, h);
    sb_printf(o, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n<text x=\"%d\" y=\"16\" "
                 "text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">", w, h, w / 2);
    sb_append_html(o, title);
    sb_append(o, "</text>\n");
}

void svg_line_chart(StrBuf *o, const char *title, const char *x_label, const char *y_label,
                    const SvgSeries *series, int n_series, int w, int h) {
    const int left = 56, right = 130, top = 28, bottom = 40;
    const int pw = w - left - right, ph = h - top - bottom;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++) {
            double x = series[s].x[i], y = series[s].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            x0 = fmin(x0, x); x1 = fmax(x1, x); y0 = fmin(y0, y); y1 = fmax(y1, y);
        }
    frame(o, title, w, h);
    if (!(x0 <= x1)) {
        sb_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n</svg>\n", w / 2, h / 2);
        return;
    }
    int all_int_x = 1, nonneg_y = y0 >= 0;
    for (int s = 0; s < n_series; s++)
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].x[i]) && series[s].x[i] != floor(series[s].x[i])) all_int_x = 0;
    if (x1 == x0) { x0 -= 1; x1 += 1; }
    /* a flat curve: [0, 1] when it is all zeros (rates), else ±0.5 around it, never below zero
     * for non-negative data (an accuracy axis running to -0.6 reads as a bug) */
    if (y1 == y0) {
        if (y0 == 0) y1 = 1;
        else { y0 -= 0.5; y1 += 0.5; }
    }
    if (nonneg_y && y0 < 0) y0 = 0;
    if (y0 > 0 && y0 < 0.25 * (y1 - y0)) y0 = 0;   /* include zero when it is close */
    double ys = nice_step(y1 - y0, 5), xs = nice_step(x1 - x0, 6);
    if (all_int_x && xs < 1) xs = 1;   /* RL steps are whole numbers: no 0.5 ticks */
    y0 = floor(y0 / ys) * ys; y1 = ceil(y1 / ys) * ys;
#define PX(x) (left + (x - x0) / (x1 - x0) * pw)
#define PY(y) (top + ph - (y - y0) / (y1 - y0) * ph)
    sb_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n", left, top, pw, ph);
    for (double y = y0; y <= y1 + 1e-9 * ys; y += ys)
        sb_printf(o, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                  left, left + pw, PY(y), PY(y), left - 4, PY(y) + 4, fabs(y) < 1e-12 ? 0 : y);
    for (double x = ceil(x0 / xs) * xs; x <= x1 + 1e-9 * xs; x += xs)
        sb_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", PX(x), top + ph + 14, x);
    sb_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", left + pw / 2, h - 6);
    sb_append_html(o, x_label);
    sb_printf(o, "</text>\n<text x=\"12\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">",
              top + ph / 2, top + ph / 2);
    sb_append_html(o, y_label);
    sb_append(o, "</text>\n");
    /* a series with no finite point (e.g. no held-out evaluations in that stage) gets no legend
     * entry; colours stay tied to the series index so a stage has one colour in every chart */
    int n_legend = 0;
    for (int s = 0; s < n_series; s++) {
        const char *col = palette[s % N_COLORS];
        int has = 0;
        for (int i = 0; i < series[s].n; i++) has |= isfinite(series[s].x[i]) && isfinite(series[s].y[i]);
        if (!has) continue;
        sb_printf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" points=\"", col);
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].x[i]) && isfinite(series[s].y[i]))
                sb_printf(o, "%.1f,%.1f ", PX(series[s].x[i]), PY(series[s].y[i]));
        sb_append(o, "\"/>\n");
        /* point markers: a one- or two-point series is visible, and a series hidden under
         * another one's line still shows (later series draw smaller markers on top) */
        double r = s < 4 ? 3.4 - 0.5 * s : 1.8;
        for (int i = 0; i < series[s].n; i++)
            if (isfinite(series[s].x[i]) && isfinite(series[s].y[i]))
                sb_printf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>", PX(series[s].x[i]),
                          PY(series[s].y[i]), r, col);
        sb_append(o, "\n");
        int ly = top + 10 + 16 * n_legend++;
        sb_printf(o, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                     "<text x=\"%d\" y=\"%d\">", left + pw + 10, left + pw + 26, ly, ly, col, left + pw + 30, ly + 4);
        sb_append_html(o, series[s].name);
        sb_append(o, "</text>\n");
    }
#undef PX
#undef PY
    sb_append(o, "</svg>\n");
}

void svg_bar_chart(StrBuf *o, const char *title, const char *y_label, const char *const *groups,
                   int n_groups, const char *const *bars, int n_bars, const double *values,
                   double y_max, int w, int h) {
    const int left = 50, right = 120, top = 28, bottom = 56;
    const int pw = w - left - right, ph = h - top - bottom;
    frame(o, title, w, h);
    if (n_groups <= 0 || n_bars <= 0 || !(y_max > 0)) {
        sb_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n</svg>\n", w / 2, h / 2);
        return;
    }
    double ys = nice_step(y_max, 5);
    for (double y = 0; y <= y_max + 1e-9; y += ys) {
        double py = top + ph - y / y_max * ph;
        sb_printf(o, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left, left + pw, py, py, left - 4, py + 4, y);
    }
    double gw = (double)pw / n_groups, bw = gw * 0.8 / n_bars;
    for (int g = 0; g < n_groups; g++) {
        for (int b = 0; b < n_bars; b++) {
            double v = values[g * n_bars + b], xc = left + g * gw + gw * 0.1 + (b + 0.475) * bw;
            if (!isfinite(v)) {
                if (bw >= 26) sb_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\">n/a</text>\n",
                                        xc, top + ph - 4);
                continue;
            }
            v = fmin(fmax(v, 0), y_max);
            /* at least 2 px, so a measured 0 is told apart from a missing value */
            double bh = fmax(v / y_max * ph, 2), x = left + g * gw + gw * 0.1 + b * bw;
            sb_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%.3f</title></rect>\n",
                      x, top + ph - bh, bw * 0.95, bh, palette[b % N_COLORS], values[g * n_bars + b]);
            if (bw >= 26)   /* value labels only where they fit above their bar */
                sb_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.2f</text>\n", xc, top + ph - bh - 3,
                          values[g * n_bars + b]);
        }
        sb_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-30 %.1f %d)\">",
                  left + g * gw + gw / 2, top + ph + 14, left + g * gw + gw / 2, top + ph + 14);
        sb_append_html(o, groups[g]);
        sb_append(o, "</text>\n");
    }
    sb_printf(o, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>\n", left, left + pw, top + ph, top + ph);
    sb_printf(o, "<text x=\"12\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 12 %d)\">", top + ph / 2, top + ph / 2);
    sb_append_html(o, y_label);
    sb_append(o, "</text>\n");
    for (int b = 0; b < n_bars; b++) {
        int ly = top + 10 + 16 * b;
        sb_printf(o, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                  left + pw + 10, ly - 8, palette[b % N_COLORS], left + pw + 30, ly + 1);
        sb_append_html(o, bars[b]);
        sb_append(o, "</text>\n");
    }
    sb_append(o, "</svg>\n");
}
