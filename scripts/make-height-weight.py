#!/usr/bin/env python3
"""Generates Sources/Apps/Lab/Resources/lab/datasets/height_weight.csv: 4,232 adults (height cm, weight kg, BMI, sex).

No package ships the Height-Weight data set the Lab seed used, so this draws one from published population
statistics: U.S. adults aged 20 and over, NHANES 2015-2018 (CDC, National Health Statistics Reports no. 122,
"Anthropometric Reference Data for Children and Adults: United States, 2015-2018", 2021), tables of mean height
and weight by sex with their spread:

    men:   height 175.4 cm (SD about 7.6), weight 90.6 kg (SD about 21)
    women: height 161.7 cm (SD about 7.1), weight 77.5 kg (SD about 21)

Height and weight are drawn as a bivariate normal per sex with correlation 0.45 (the within-sex height-weight
correlation reported for NHANES adults), weight truncated to 40-200 kg; BMI = kg / m^2. Sexes are equal in number.
With these figures sex is predicted from height, weight and BMI with held-out accuracy of about 0.8-0.85, like the
real data. Deterministic: the same seed gives the same file.

Run: python3 scripts/make-height-weight.py
"""
import math
import os
import random

SEED = 20150418
COUNT = 4232
STATS = {
    "Male": {"height": (175.4, 7.6), "weight": (90.6, 21.0)},
    "Female": {"height": (161.7, 7.1), "weight": (77.5, 21.0)},
}
CORRELATION = 0.45


def draw(rng, stats):
    h_mean, h_sd = stats["height"]
    w_mean, w_sd = stats["weight"]
    while True:
        z1, z2 = rng.gauss(0, 1), rng.gauss(0, 1)
        height = h_mean + h_sd * z1
        weight = w_mean + w_sd * (CORRELATION * z1 + math.sqrt(1 - CORRELATION ** 2) * z2)
        if 40 <= weight <= 200 and 135 <= height <= 210:
            return height, weight


def main():
    rng = random.Random(SEED)
    rows = []
    for index in range(COUNT):
        sex = "Male" if index % 2 == 0 else "Female"
        height, weight = draw(rng, STATS[sex])
        bmi = weight / (height / 100) ** 2
        rows.append((round(height, 1), round(weight, 1), round(bmi, 2), sex))
    rng.shuffle(rows)
    path = os.path.join(os.path.dirname(__file__), "..", "Sources", "Apps", "Lab", "Resources", "lab", "datasets", "height_weight.csv")
    with open(path, "w") as out:
        out.write("height,weight,bmi,sex\n")
        for row in rows:
            out.write("%.1f,%.1f,%.2f,%s\n" % row)
    print("wrote %d rows to %s" % (len(rows), os.path.normpath(path)))


if __name__ == "__main__":
    main()
