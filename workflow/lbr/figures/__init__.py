"""The paper's figures, drawn from tidy tables (and, for image figures, the arrays they show); no torch here.

One module per kind of figure: images (Fig. 9, Fig. 1 middle), accuracy (Fig. 4, Fig. 1 top), dynamics
(Fig. 3, Fig. 1 bottom), guidance (Figs. 5-6), theory (Figs. 2, 7, 8), overview (Fig. 1 from those panels).
Every figure function draws in the style of `lbr.mplstyle`; `save` writes PDF + PNG atomically."""
