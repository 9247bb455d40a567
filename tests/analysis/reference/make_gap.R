# Reference numbers from R `survey` for a unit against its province (analysis/gap.py):
# gap = mean of the unit − mean of the whole design, a contrast of two ratios on ONE design,
# via svytotal + svycontrast (delta method on the joint covariance of the totals).
#
# Reads the committed data sets data/sipas.csv (element design, SIPAS weights; one period) and
# data/clus.csv (stratified cluster design, domain g).  Writes expected_gap.json.
# Run from this folder:  Rscript make_gap.R      (CI has no R: tests read the JSON only)
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "adjust")

cases <- list()
gap_case <- function(id, file, design, data, y, dom_col, dom) {
  v <- !is.na(data[[y]])
  data$gy_u <- ifelse(v & data[[dom_col]] == dom, data[[y]], 0)
  data$gv_u <- as.numeric(v & data[[dom_col]] == dom)
  data$gy <- ifelse(v, data[[y]], 0)
  data$gv <- as.numeric(v)
  d <- update(design, gy_u = data$gy_u, gv_u = data$gv_u, gy = data$gy, gv = data$gv)
  tot <- svytotal(~gy_u + gv_u + gy + gv, d)
  con <- svycontrast(tot, quote(gy_u / gv_u - gy / gv))
  est <- unname(coef(con)); se <- unname(SE(con)); df <- degf(d)
  q <- qt(0.975, df)
  cases[[length(cases) + 1]] <<- list(
    id = id, file = file, y = y, domain_column = dom_col, domain = dom,
    psu = "psu" %in% names(data),
    expected = list(estimate = est, se = se, df = df, ci_low = est - q * se, ci_high = est + q * se,
                    n = sum(v & data[[dom_col]] == dom)))
}

sipas <- read.csv(file.path("data", "sipas.csv"), check.names = FALSE)
one <- sipas[sipas$period == "2025H1", ]
sd <- svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = one)
for (u in c("U1", "U2", "U3")) for (y in c("overall", "rate_A2.1", "score_A1")) {
  gap_case(paste("sipas", u, y, sep = "_"), "sipas", sd, one, y, "unit", u)
}
cl <- read.csv(file.path("data", "clus.csv"))
cd <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = cl, nest = TRUE)
for (g in c("a", "b", "c")) gap_case(paste("clus", g, sep = "_"), "clus", cd, cl, "y", "g", g)

writeLines(toJSON(list(generated_by = "make_gap.R", r_version = R.version.string,
                       survey_version = as.character(packageVersion("survey")), cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), "expected_gap.json")
