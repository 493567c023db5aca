/**
 * `explained_variance.svg`: bars of the explained variance ratio per component and a line of
 * the cumulative ratio, with axes, ticks and labels. Plain SVG, no dependencies.
 */

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function explainedVarianceSvg(ratios: readonly number[], title = "PCA explained variance"): string {
  const width = 640;
  const height = 400;
  const m = { top: 50, right: 30, bottom: 60, left: 70 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const k = ratios.length;
  const slot = plotW / Math.max(1, k);
  const barW = slot * 0.6;
  const y = (v: number): number => m.top + plotH * (1 - Math.min(1, Math.max(0, v)));
  const xCenter = (i: number): number => m.left + slot * (i + 0.5);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="16">${esc(title)}</text>`);
  for (let t = 0; t <= 5; t++) {
    const v = t / 5;
    parts.push(
      `<line x1="${m.left}" y1="${y(v).toFixed(1)}" x2="${m.left + plotW}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`,
    );
    parts.push(
      `<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`,
    );
  }
  let cumulative = 0;
  const points: string[] = [];
  ratios.forEach((r, i) => {
    cumulative += r;
    const top = y(r);
    parts.push(
      `<rect class="bar" x="${(xCenter(i) - barW / 2).toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(m.top + plotH - top).toFixed(1)}" fill="#4c78a8"><title>PC${i + 1}: ${(r * 100).toFixed(2)}%</title></rect>`,
    );
    parts.push(
      `<text x="${xCenter(i).toFixed(1)}" y="${(m.top + plotH + 18).toFixed(1)}" text-anchor="middle">PC${i + 1}</text>`,
    );
    points.push(`${xCenter(i).toFixed(1)},${y(cumulative).toFixed(1)}`);
  });
  if (points.length) {
    parts.push(
      `<polyline class="cumulative" points="${points.join(" ")}" fill="none" stroke="#f58518" stroke-width="2"/>`,
    );
    for (const pt of points) {
      const [cx, cy] = pt.split(",");
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="#f58518"/>`);
    }
  }
  parts.push(
    `<line x1="${m.left}" y1="${m.top + plotH}" x2="${m.left + plotW}" y2="${m.top + plotH}" stroke="black"/>`,
  );
  parts.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + plotH}" stroke="black"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 18}" text-anchor="middle">principal component</text>`);
  parts.push(
    `<text transform="translate(20 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">explained variance ratio</text>`,
  );
  parts.push(
    `<g transform="translate(${m.left + plotW - 150} ${m.top - 14})"><rect width="10" height="10" fill="#4c78a8"/><text x="14" y="9">per component</text><line x1="90" y1="5" x2="104" y2="5" stroke="#f58518" stroke-width="2"/><text x="108" y="9">cumulative</text></g>`,
  );
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
