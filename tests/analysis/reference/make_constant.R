# Reference numbers from R `survey` for domains whose values are all equal
# (tests/analysis/test_analysis_constant.py), and for period-to-period changes.
#
# Writes its data sets (deterministic seeds) to data/constant_*.csv and the results to
# expected_constant.json.  Run from this folder:  Rscript make_constant.R
# CI has no R: the tests read the committed CSV and JSON files only.
suppressMessages({library(survey); library(jsonlite)})

dir.create("data", showWarnings = FALSE)
cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case
num <- function(x) if (is.null(x) || length(x) == 0 || !is.finite(x)) NULL else unname(x)
write_data <- function(df, name) {
  write.csv(df, file.path("data", paste0(name, ".csv")), row.names = FALSE, na = "")
  invisible(df)
}

# Element design (SIPAS-like: each response its own PSU), weights varying within strata.
# Domain g = "a": y is 3 everywhere; z is 2/3 everywhere (not a binary fraction, so raw
# moments do not cancel exactly). Domain g = "b": both vary.
set.seed(20261212)  # a seed whose constant domains show the noise (test checks it)
n <- 90
el <- data.frame(stratum = sample(c("E1", "E2", "E3"), n, replace = TRUE),
                 g = rep(c("a", "b"), length.out = n))
el$w <- round(runif(n, 0.3, 7.7), 4)
el$y <- ifelse(el$g == "a", 3, sample(1:5, n, replace = TRUE))
el$z <- ifelse(el$g == "a", 2 / 3, sample(c(0, 1 / 3, 2 / 3, 1), n, replace = TRUE))
el <- write_data(el, "constant_element")

# Stratified cluster design, domain g = "a" constant.
set.seed(20261203)
rows <- list()
for (s in 1:4) for (p in 1:3) {
  m <- sample(3:8, 1)
  rows[[length(rows) + 1]] <- data.frame(stratum = paste0("S", s), psu = p,
                                         w = round(runif(m, 2, 40), 3),
                                         g = sample(c("a", "b"), m, replace = TRUE))
}
cl <- do.call(rbind, rows)
cl$y <- ifelse(cl$g == "a", 3, sample(1:5, nrow(cl), replace = TRUE))
cl$z <- ifelse(cl$g == "a", 2 / 3, round(runif(nrow(cl)), 3))
cl <- write_data(cl, "constant_clus")

options(survey.lonely.psu = "adjust")
designs <- list(
  constant_element = svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = el),
  constant_clus = svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = cl, nest = TRUE))
for (file in names(designs)) for (v in c("y", "z")) for (dom in c("a", "b")) {
  d <- subset(designs[[file]], g == dom)
  m <- svymean(as.formula(paste0("~", v)), d, deff = TRUE)
  ciq <- confint(m, df = degf(d))
  add(list(id = paste(file, v, dom, sep = "_"), file = file, y = v, domain = dom,
           psu = if (file == "constant_clus") "psu" else NULL,
           expected = list(estimate = coef(m)[[1]], se = SE(m)[[1]], ci_low = ciq[1],
                           ci_high = ciq[2], deff = num(deff(m)[[1]]), df = degf(d),
                           n = nrow(d))))
}

# Change between two periods of one unit: the periods' strata are disjoint (unit x field x
# period), so one design holds both and svyby(covmat = TRUE) + svycontrast gives the
# difference with Var = Var(a) + Var(b); confint on degf of that design, i.e.
# df = (PSUs - strata) of period a + (PSUs - strata) of period b.
set.seed(20261204)
ch <- do.call(rbind, lapply(c("P1", "P2"), function(per) {
  m <- if (per == "P1") 70 else 55
  f <- sample(c("F1", "F2", "F3"), m, replace = TRUE, prob = c(.5, .3, .2))
  data.frame(period = per, stratum = paste(f, per, sep = "|"),
             w = c(F1 = 12.5, F2 = 40, F3 = 7)[f] * (if (per == "P1") 1 else 1.3),
             y = round(runif(m) * (if (per == "P1") 1 else 0.9), 3))
}))
ch <- write_data(ch, "change_periods")
d <- svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = ch)
by <- svyby(~y, ~period, d, svymean, covmat = TRUE)
ctr <- svycontrast(by, c(P2 = 1, P1 = -1))
ciq <- confint(ctr, df = degf(d))
add(list(id = "change_P2_minus_P1", file = "change_periods", y = "y",
         expected = list(estimate = coef(ctr)[[1]], se = SE(ctr)[[1]], ci_low = ciq[1],
                         ci_high = ciq[2], df = degf(d))))

meta <- list(R = R.version.string, survey = as.character(packageVersion("survey")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA,
                  null = "null", pretty = TRUE), "expected_constant.json")
