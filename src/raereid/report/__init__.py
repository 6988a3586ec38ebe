"""A browsable results report: one static HTML page per run or comparison of runs (`raereid report`).

Modules: `runs` reads run folders, `curves` draws TensorBoard scalars, `ranked` ranks queries with each
model, `pictures` gathers the domain gap and reconstructions, `page` writes the HTML (with its sections
`ranked_section` and `runs_section`, and the shared pieces of `markup`), `build` ties them together,
`command` records the command of a run, `browser` checks a page in headless Chromium.
"""
