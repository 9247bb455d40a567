# Reference numbers from R `survey` for the design-based tests across groups
# (analysis/crosstab.py, tests/analysis/test_analysis_crosstab.py):
#   svychisq(~g + a, design)                    Rao-Scott second-order, F form (the default)
#   regTermTest(svyglm(y ~ g, design), ~g)      Wald F test of equal means
#
# Writes its data sets (deterministic seeds) to data/crosstab_*.csv and the results to
# expected_crosstab.json.  Run from this folder:  Rscript make_crosstab.R
# CI has no R: the tests read the committed CSV and JSON files only.
suppressMessages({library(survey); library(jsonlite)})

dir.create("data", showWarnings = FALSE)
write_data <- function(df, name) {
  write.csv(df, file.path("data", paste0(name, ".csv")), row.names = FALSE, na = "")
  invisible(df)
}

# Element design like a thematic campaign: strata = unit x service field, weights constant
# within a stratum (dossiers / responses), each response its own PSU; groups = age band,
# answers = a four-choice question, a yes/no question and a 1-5 score. One stratum has a
# single response (lonely: "adjust", as the app does).
set.seed(20261207)
n <- 420
el <- data.frame(stratum = sample(paste0("U", 1:5), n, replace = TRUE,
                                  prob = c(.3, .25, .2, .15, .1)))
el <- rbind(el, data.frame(stratum = "U6"))
wt <- c(U1 = 2.5, U2 = 7.25, U3 = 1, U4 = 12.4, U5 = 3.3, U6 = 5)
el$w <- unname(wt[el$stratum])
el$g <- sample(c("18-29", "30-44", "45-59", "60+"), nrow(el), replace = TRUE)
shift <- c("18-29" = 0, "30-44" = 0.3, "45-59" = 0.5, "60+" = 1)[el$g]
el$a <- sapply(shift, function(s) sample(1:4, 1, prob = c(1 + s, 1, 1, 1 + 2 * s)))
el$yes <- rbinom(nrow(el), 1, plogis(-0.2 + 0.5 * shift))
el$y <- pmin(5, pmax(1, round(3.2 + shift * 0.6 + rnorm(nrow(el)))))
# Groups known only for some respondents (demographics asked with consent): missing for the
# oldest band. svychisq leaves those rows out of the table but keeps the full design (nu).
el$g_na <- ifelse(el$g == "60+", NA, el$g)
el <- write_data(el, "crosstab_element")

# Stratified cluster design (communes as PSUs in districts), weights varying within PSUs.
set.seed(20261208)
rows <- list()
for (s in 1:3) for (p in 1:4) {
  m <- sample(8:20, 1)
  rows[[length(rows) + 1]] <- data.frame(stratum = paste0("S", s), psu = p,
                                         w = round(runif(m, 1, 30), 3),
                                         g = sample(c("nam", "nu", "khac"), m, replace = TRUE,
                                                    prob = c(.48, .48, .04)))
}
cl <- do.call(rbind, rows)
cl$a <- sample(c("x", "y", "z"), nrow(cl), replace = TRUE)
cl$y <- sample(1:5, nrow(cl), replace = TRUE)
cl <- write_data(cl, "crosstab_clus")

options(survey.lonely.psu = "adjust")
designs <- list(
  crosstab_element = svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = el),
  crosstab_clus = svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = cl, nest = TRUE))

cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case
chisq_case <- function(file, row, col) {
  d <- designs[[file]]
  f <- as.formula(paste0("~", row, "+", col))
  t <- svychisq(f, d)
  # The Pearson X^2 of the weighted table scaled to the responses in it (svychisq itself scales
  # to every row of the design; F, ndf, ddf and p do not depend on that scale).
  complete <- sum(!is.na(d$variables[[row]]) & !is.na(d$variables[[col]]))
  pearson <- suppressWarnings(chisq.test(svytable(f, d, Ntotal = complete), correct = FALSE))
  add(list(id = paste(file, row, col, sep = "-"), kind = "rao-scott", file = file,
           row = row, col = col, lonely = "adjust",
           expected = list(statistic = unname(t$statistic), ndf = unname(t$parameter[1]),
                           ddf = unname(t$parameter[2]), p_value = unname(t$p.value),
                           chisq = unname(pearson$statistic))))
}
wald_case <- function(file, y, group) {
  d <- designs[[file]]
  m <- svyglm(as.formula(paste0(y, "~factor(", group, ")")), d)
  t <- regTermTest(m, as.formula(paste0("~factor(", group, ")")))
  add(list(id = paste(file, y, group, "wald", sep = "-"), kind = "wald", file = file,
           y = y, group = group, lonely = "adjust",
           expected = list(statistic = unname(t$Ftest[1]), ndf = unname(t$df),
                           ddf = unname(t$ddf), p_value = unname(t$p[1]))))
}
chisq_case("crosstab_element", "g", "a")
chisq_case("crosstab_element", "g", "yes")
chisq_case("crosstab_element", "yes", "a")
chisq_case("crosstab_element", "g_na", "a")
chisq_case("crosstab_clus", "g", "a")
wald_case("crosstab_element", "y", "g")
wald_case("crosstab_element", "yes", "g")
wald_case("crosstab_element", "y", "g_na")
wald_case("crosstab_clus", "y", "g")

writeLines(toJSON(list(r_version = R.version.string,
                       survey_version = as.character(packageVersion("survey")),
                       cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "expected_crosstab.json")
