"""Pictures and the HTML report: `plots` (PNG grids and matplotlib figures), `report` (one page per
run)."""
