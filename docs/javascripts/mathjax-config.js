// MathJax 3 configuration for pymdownx.arithmatex (generic mode). The MathJax script itself
// (tex-svg-full.js) is copied into the site at build time from the 'django-static-mathjax'
// package (docs extra): the pages typeset their math with no network.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: { fontCache: "global" },
};
