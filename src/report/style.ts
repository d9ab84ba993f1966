// The report's stylesheet: system fonts only, so the page looks the same offline.
export const REPORT_CSS = `
:root { --fg: #1d2433; --muted: #5b6475; --line: #e3e6ec; --bg: #f6f7f9; --accent: #2f6fdd; --best: #fff4d6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .meta { color: var(--muted); margin: 0 0 16px; }
header .meta span + span::before { content: "·"; margin: 0 8px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { font-size: 18px; margin: 0 0 12px; }
.findings { background: #eef4ff; border: 1px solid #cddcfb; border-radius: 8px; padding: 12px 20px; }
.findings h2 { font-size: 15px; margin: 0 0 4px; }
.findings ul { margin: 0; padding-left: 20px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
table.models { font-size: 12px; }
table.models th[rowspan] { white-space: normal; vertical-align: bottom; }
caption { caption-side: bottom; text-align: left; color: var(--muted); font-size: 12px; padding-top: 8px; }
th, td { padding: 6px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f0f2f6; font-weight: 600; white-space: nowrap; }
th.set { text-align: center; border-left: 2px solid #fff; }
tbody tr:hover { background: #fafbfc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.mono, .mono { white-space: nowrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
td.name { min-width: 130px; }
.sub { color: var(--muted); font-size: 11px; }
tr.best td { background: var(--best); }
tr.best td.name { box-shadow: inset 4px 0 0 #e0a800; }
tr.reference td { font-weight: 600; }
tfoot td { font-weight: 600; border-bottom: none; }
.badge { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 10px; background: #e0a800; color: #fff; }
.role, .status { display: inline-block; font-size: 12px; padding: 0 8px; border-radius: 10px; }
.role.teacher { background: #e3ecf7; color: #2a5286; }
.role.student { background: #fdebd8; color: #9a4d00; }
.status.done { background: #dff3e4; color: #1d6b34; }
.status.skipped { background: #eceef2; color: var(--muted); }
.status.failed { background: #fbe0e0; color: #a12020; }
.status.pending { background: #fff3cd; color: #7a5b00; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
figure.chart { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
.charts figure.chart svg { width: 100%; }
figure.chart figcaption { color: var(--muted); font-size: 12px; padding: 4px 4px 0; }
.note { color: #8a5a00; background: #fff8e6; border-left: 3px solid #e0a800; padding: 6px 10px; margin: 8px 0; }
.side { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
details summary { cursor: pointer; color: var(--accent); }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: 12px; overflow: auto;
  font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; max-height: 480px; }
`;
