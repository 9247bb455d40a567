# Reference values for survey/feedback/metrics.py (tests/feedback/test_metrics.py).
# Cases as a simple random sample, weight 1: svydesign(ids = ~1, weights = ~1).
# Run: Rscript tests/analysis/reference/make_feedback.R > tests/analysis/reference/expected_feedback.csv
suppressMessages(library(survey))
on_time <- c(1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1)
ratings <- c(5, 4, 2, 4, 5, 3, 4, 1, 5, 4)
satisfied <- as.numeric(ratings >= 4)
row <- function(name, est, ci) {
  sprintf("%s,%.12f,%.12f,%.12f", name, est, ci[1], ci[2])
}
d1 <- svydesign(ids = ~1, weights = ~w, data = data.frame(y = on_time, w = 1))
p <- svyciprop(~y, d1, method = "logit", df = degf(d1))
d2 <- svydesign(ids = ~1, weights = ~w, data = data.frame(y = ratings, s = satisfied, w = 1))
m <- svymean(~y, d2)
s <- svyciprop(~s, d2, method = "logit", df = degf(d2))
cat("measure,estimate,ci_low,ci_high\n")
cat(row("on_time", coef(p), confint(p)), "\n", sep = "")
cat(row("followup", coef(m), confint(m, df = degf(d2))), "\n", sep = "")
cat(row("followup_satisfied", coef(s), confint(s)), "\n", sep = "")
