# Reference numbers from R `survey` for tests/analysis/test_reference.py.
#
# Writes the data sets it uses (deterministic seeds) to data/*.csv and the results to
# expected.json.  Run from this folder:  Rscript make_reference.R
# CI has no R: the tests read the committed CSV and JSON files only.
suppressMessages({library(survey); library(jsonlite)})

out_dir <- "."
dir.create(file.path(out_dir, "data"), showWarnings = FALSE)
cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

write_data <- function(df, name) {
  write.csv(df, file.path(out_dir, "data", paste0(name, ".csv")), row.names = FALSE,
            na = "")
  invisible(df)
}

# ---- data sets ------------------------------------------------------------------
set.seed(20240501)
n <- 200
srs <- write_data(data.frame(
  y = round(rnorm(n, 3.6, 0.9), 3),
  b = rbinom(n, 1, 0.3),
  g = sample(c("a", "b", "c"), n, replace = TRUE)), "srs")

set.seed(20240502)
n <- 300
wtd <- write_data(data.frame(
  w = round(runif(n, 1, 12), 4),
  y = sample(1:5, n, replace = TRUE, prob = c(.05, .1, .2, .35, .3)),
  g = sample(c("a", "b", "c"), n, replace = TRUE, prob = c(.5, .3, .2))), "weighted")
wtd$b <- as.integer(wtd$y >= 4)
wtd <- write_data(wtd, "weighted")

set.seed(20240503)
n <- 400
h <- sample(paste0("h", 1:5), n, replace = TRUE, prob = c(.4, .25, .15, .12, .08))
strat <- data.frame(stratum = h,
                    w = c(h1 = 20, h2 = 35.5, h3 = 8, h4 = 60, h5 = 12.25)[h],
                    y = round(3 + as.integer(factor(h)) / 5 + rnorm(n, 0, 1), 2),
                    g = sample(c("a", "b"), n, replace = TRUE))
strat$b <- as.integer(strat$y >= 3.7)
strat <- write_data(strat, "strat")

# Stratified cluster sample: 6 strata, 2-5 PSUs each, 4-15 rows per PSU.
set.seed(20240504)
rows <- list()
for (s in 1:6) {
  k <- sample(2:5, 1)
  for (p in 1:k) {
    m <- sample(4:15, 1)
    eff <- rnorm(1, 0, 0.5)
    rows[[length(rows) + 1]] <- data.frame(
      stratum = paste0("S", s), psu = p,  # PSU ids repeat across strata: nested
      w = round(runif(1, 5, 50), 3) * runif(m, 0.8, 1.2),
      y = round(3.4 + eff + rnorm(m, 0, 0.8), 2),
      g = sample(c("a", "b", "c"), m, replace = TRUE, prob = c(.45, .35, .2)))
  }
}
clus <- do.call(rbind, rows)
clus$b <- as.integer(clus$y >= 3.5)
clus$cl <- paste0(clus$stratum, "_", clus$psu)  # unstratified cluster id for JK1
clus$g[clus$stratum == "S6"] <- "a"   # domain b and c never touch stratum S6
clus <- write_data(clus, "clus")

# Two strata with a single PSU (lonely PSUs), one of them only in domain "a".
set.seed(20240505)
rows <- list()
npsu <- c(3, 1, 4, 1, 2)
for (s in 1:5) for (p in 1:npsu[s]) {
  m <- sample(5:12, 1)
  rows[[length(rows) + 1]] <- data.frame(
    stratum = paste0("L", s), psu = paste0("p", s, "_", p),
    w = round(runif(m, 2, 30), 3),
    y = round(rnorm(m, 3.5 + s / 10, 1), 2),
    g = if (s == 4) "a" else sample(c("a", "b"), m, replace = TRUE))
}
lonely <- do.call(rbind, rows)
lonely$b <- as.integer(lonely$y >= 3.6)
lonely <- write_data(lonely, "lonely")

# Element design (no PSU ids) with a one-row stratum.
set.seed(20240506)
n <- 120
el <- data.frame(stratum = sample(c("E1", "E2", "E3"), n, replace = TRUE),
                 y = sample(1:5, n, replace = TRUE), g = sample(c("a", "b"), n, TRUE))
el <- rbind(el, data.frame(stratum = "E4", y = 4, g = "a"))
el$w <- c(E1 = 10, E2 = 25, E3 = 4, E4 = 7)[el$stratum]
el$b <- as.integer(el$y >= 4)
el <- write_data(el, "element_lonely")

# ---- designs ----------------------------------------------------------------------
make_design <- function(spec, data) {
  ids <- if (is.null(spec$psu)) ~1 else as.formula(paste0("~", spec$psu))
  strata <- if (is.null(spec$strata)) NULL else as.formula(paste0("~", spec$strata))
  weights <- if (is.null(spec$weights)) NULL else as.formula(paste0("~", spec$weights))
  suppressWarnings(svydesign(ids = ids, strata = strata, weights = weights, data = data,
                             nest = TRUE))
}
rule_r <- function(rule) if (rule == "error") "fail" else rule
num <- function(x) if (is.null(x) || length(x) == 0 || !is.finite(x)) NULL else unname(x)

one <- function(id, file, data, spec, y, stat, ci, domain = NULL, level = 0.95) {
  options(survey.lonely.psu = rule_r(spec$lonely))
  d <- make_design(spec, data)
  if (!is.null(domain)) d <- subset(d, eval(parse(text = sprintf("%s == '%s'", domain$col, domain$value))))
  res <- tryCatch({
    f <- as.formula(paste0("~", y))
    if (stat == "mean") {
      m <- suppressWarnings(svymean(f, d, deff = TRUE))
      ciq <- confint(m, df = degf(d), level = level)
      list(estimate = coef(m)[[1]], se = SE(m)[[1]], ci_low = ciq[1], ci_high = ciq[2],
           deff = num(deff(m)[[1]]))
    } else {
      p <- suppressWarnings(svyciprop(f, d, method = ci, level = level))
      m <- suppressWarnings(svymean(f, d, deff = TRUE))
      ciq <- attr(p, "ci")
      list(estimate = unname(coef(p)[[1]]), se = sqrt(attr(p, "var")[[1]]),
           ci_low = unname(ciq[1]), ci_high = unname(ciq[2]), deff = num(deff(m)[[1]]))
    }
  }, error = function(e) list(error = conditionMessage(e)))
  if (is.null(res$error)) { res$df <- degf(d); res$n <- nrow(d) }
  add(list(id = id, file = file, design = spec, y = y, stat = stat, ci = ci,
           domain = domain, level = level, expected = res))
}

spec <- function(weights = NULL, strata = NULL, psu = NULL, lonely = "error")
  list(weights = weights, strata = strata, psu = psu, lonely = lonely)

sets <- list(
  list(file = "srs", data = srs, spec = spec(), prop = "b", mean = "y"),
  list(file = "weighted", data = wtd, spec = spec(weights = "w"), prop = "b", mean = "y"),
  list(file = "strat", data = strat, spec = spec(weights = "w", strata = "stratum"),
       prop = "b", mean = "y"),
  list(file = "clus", data = clus, spec = spec(weights = "w", strata = "stratum", psu = "psu"),
       prop = "b", mean = "y"))
for (s in sets) {
  doms <- c(list(NULL), lapply(sort(unique(s$data$g)), function(v) list(col = "g", value = v)))
  for (dom in doms) {
    tag <- paste0(s$file, if (is.null(dom)) "" else paste0("_g", dom$value))
    one(paste0(tag, "_mean"), s$file, s$data, s$spec, s$mean, "mean", "mean", dom)
    one(paste0(tag, "_mean90"), s$file, s$data, s$spec, s$mean, "mean", "mean", dom, 0.90)
    for (ci in c("logit", "beta", "mean"))
      one(paste0(tag, "_prop_", ci), s$file, s$data, s$spec, s$prop, "proportion", ci, dom)
  }
}
for (rule in c("error", "certainty", "adjust", "average")) {
  for (file in c("lonely", "element_lonely")) {
    data <- if (file == "lonely") lonely else el
    sp <- spec(weights = "w", strata = "stratum", psu = if (file == "lonely") "psu" else NULL,
               lonely = rule)
    for (dom in list(NULL, list(col = "g", value = "a"), list(col = "g", value = "b"))) {
      tag <- paste0(file, "_", rule, if (is.null(dom)) "" else paste0("_g", dom$value))
      one(paste0(tag, "_mean"), file, data, sp, "y", "mean", "mean", dom)
      one(paste0(tag, "_prop_beta"), file, data, sp, "b", "proportion", "beta", dom)
      one(paste0(tag, "_prop_logit"), file, data, sp, "b", "proportion", "logit", dom)
    }
  }
}

# Wilson: prop.test without continuity correction is the Wilson score interval.
for (v in c("a", "b")) {
  k <- sum(srs$b[srs$g == v]); m <- sum(srs$g == v)
  pt <- prop.test(k, m, correct = FALSE)$conf.int
  add(list(id = paste0("srs_g", v, "_wilson"), file = "srs", design = spec(), y = "b",
           stat = "proportion", ci = "wilson", domain = list(col = "g", value = v),
           level = 0.95, expected = list(estimate = k / m, ci_low = pt[1], ci_high = pt[2])))
}

# Differences of domain means: svyby(covmat=TRUE) + svycontrast, t on degf(design).
diff_case <- function(id, file, data, sp, a, b) {
  options(survey.lonely.psu = rule_r(sp$lonely))
  d <- make_design(sp, data)
  res <- tryCatch({
    by <- suppressWarnings(svyby(~y, ~g, d, svymean, covmat = TRUE))
    ctr <- svycontrast(by, setNames(c(1, -1), c(a, b)))
    ciq <- confint(ctr, df = degf(d))
    list(estimate = coef(ctr)[[1]], se = SE(ctr)[[1]], ci_low = ciq[1], ci_high = ciq[2],
         df = degf(d))
  }, error = function(e) list(error = conditionMessage(e)))
  add(list(id = id, file = file, design = sp, y = "y", stat = "difference", ci = "mean",
           domain = list(col = "g", a = a, b = b), level = 0.95, expected = res))
}
diff_case("clus_diff_ab", "clus", clus, spec("w", "stratum", "psu"), "a", "b")
diff_case("clus_diff_ca", "clus", clus, spec("w", "stratum", "psu"), "c", "a")
diff_case("strat_diff_ab", "strat", strat, spec("w", "stratum"), "a", "b")
diff_case("weighted_diff_ab", "weighted", wtd, spec("w"), "a", "b")
for (rule in c("certainty", "adjust", "average"))
  diff_case(paste0("lonely_diff_", rule), "lonely", lonely,
            spec("w", "stratum", "psu", rule), "a", "b")

# Jackknife replicate weights.
for (type in c("JK1", "JKn")) {
  options(survey.lonely.psu = "fail")
  sp <- if (type == "JK1") spec("w", NULL, "cl") else spec("w", "stratum", "psu")
  d <- make_design(sp, clus)
  r <- suppressWarnings(as.svrepdesign(d, type = type))
  for (v in list(NULL, "a", "b")) {
    rr <- if (is.null(v)) r else subset(r, g == v)
    m <- svymean(~y, rr)
    ciq <- confint(m, df = degf(r))
    add(list(id = paste0("clus_", type, if (is.null(v)) "" else paste0("_g", v)),
             file = "clus", design = sp, y = "y", stat = type,
             ci = "mean", domain = if (is.null(v)) NULL else list(col = "g", value = v),
             level = 0.95, expected = list(estimate = coef(m)[[1]], se = SE(m)[[1]],
                                           ci_low = ciq[1], ci_high = ciq[2], df = degf(r))))
  }
}

# SIPAS-style data: strata unit x field x period, w = dossiers / responses, items with
# N/A (0) and skipped (empty), scores computed here independently of the Python code.
set.seed(20240507)
items <- c("A1.1", "A1.2", "A2.1", "A2.2", "A2.3", "A3.1")
comp <- c("A1", "A1", "A2", "A2", "A2", "A3")
rows <- list()
for (u in c("U1", "U2", "U3")) for (per in c("2025H1", "2025H2")) for (f in c("F1", "F2")) {
  m <- if (u == "U3" && f == "F2" && per == "2025H1") 1 else sample(8:40, 1)
  ans <- matrix(sample(c(0:5, NA), m * length(items), replace = TRUE,
                       prob = c(.05, .04, .06, .15, .35, .3, .05)), nrow = m)
  colnames(ans) <- items
  rows[[length(rows) + 1]] <- data.frame(unit = u, period = per, field = f,
                                         stratum = paste(u, f, per, sep = "|"),
                                         dossiers = sample(50:2000, 1), ans,
                                         check.names = FALSE)
}
sipas <- do.call(rbind, rows)
sipas$w <- sipas$dossiers / ave(sipas$dossiers, sipas$stratum, FUN = length)
valid <- function(v) !is.na(v) & v >= 1 & v <= 5
for (c in unique(comp)) {
  a <- as.matrix(sipas[, items[comp == c], drop = FALSE])
  nv <- rowSums(valid(a)); ns <- rowSums(valid(a) & a >= 4)
  sipas[[paste0("score_", c)]] <- ifelse(nv > 0, ns / nv, NA)
}
sc <- as.matrix(sipas[, paste0("score_", unique(comp))])
sipas$overall <- ifelse(rowSums(!is.na(sc)) > 0, rowMeans(sc, na.rm = TRUE), NA)
sipas$rate_A2.1 <- ifelse(valid(sipas[["A2.1"]]), as.integer(sipas[["A2.1"]] >= 4), NA)
sipas$score_A2.1 <- ifelse(valid(sipas[["A2.1"]]), sipas[["A2.1"]], NA)
write_data(sipas, "sipas")
options(survey.lonely.psu = "adjust")
sd <- svydesign(ids = ~1, strata = ~stratum, weights = ~w, data = sipas)
for (u in c("U1", "U3")) for (per in c("2025H1", "2025H2")) {
  for (v in c("rate_A2.1", "score_A2.1", "score_A2", "overall")) {
    f <- as.formula(paste0("~`", v, "`"))
    d <- sd[sipas$unit == u & sipas$period == per & !is.na(sipas[[v]]), ]
    if (v == "rate_A2.1") {
      p <- svyciprop(f, d, method = "logit"); m <- svymean(f, d, deff = TRUE)
      ciq <- attr(p, "ci"); est <- unname(coef(p)[[1]])
    } else {
      m <- svymean(f, d, deff = TRUE); ciq <- confint(m, df = degf(d)); est <- coef(m)[[1]]
    }
    add(list(id = paste("sipas", u, per, v, sep = "_"), file = "sipas", stat = "sipas",
             unit = u, period = per, measure = v,
             expected = list(estimate = est, se = SE(m)[[1]], ci_low = unname(ciq[1]),
                             ci_high = unname(ciq[2]), deff = num(deff(m)[[1]]),
                             df = degf(d), n = nrow(d))))
  }
}

meta <- list(R = R.version.string, survey = as.character(packageVersion("survey")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA,
                  null = "null", pretty = TRUE),
           file.path(out_dir, "expected.json"))
cat(length(cases), "cases written\n")
