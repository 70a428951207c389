import AerieCore
