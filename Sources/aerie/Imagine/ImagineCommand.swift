import ArgumentParser

/// `aerie imagine …`: tools for the Imagine app (text to image with a semantic prompt cache).
struct ImagineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagine",
        abstract: "Tools for the Imagine app.",
        discussion: """
            Measure the semantic cache's similarity threshold on labelled prompt pairs:
              aerie models install minilm
              aerie imagine calibrate data/imagine/calibration-pairs.csv --chart calibration.png
            """,
        subcommands: [ImagineCalibrateCommand.self]
    )
}
