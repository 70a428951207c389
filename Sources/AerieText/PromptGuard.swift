import Foundation

/// A cheap lexical check that two prompts may share one generated image, applied on top of the
/// embedding similarity of a semantic cache.
///
/// Sentence embeddings such as MiniLM score prompts that differ in one decisive word close to 1:
/// "a cat" / "no cat", "a red car" / "a blue car", "a dog chasing a cat" / "a cat chasing a dog",
/// "two dogs" / "five dogs", "…, oil painting" / "…, watercolor". `aerie imagine calibrate` measures
/// how often (see `data/imagine/calibration-pairs.csv`). Two prompts are ``compatible(_:_:)`` only when
/// they agree on each of these word classes, after folding common synonyms:
///
/// - negation: both or neither say `no`, `not`, `without`, `never`, `n't`…;
/// - colours (`red`, `crimson` → red, `grey` → gray…), spatial relations with an opposite (`over`/`above` vs
///   `under`/`below`, `inside` vs `outside`, `in front of` vs `behind`, `down`), counts (`two`, `2`, `pair` → 2, `herd` → many;
///   `a`/`one`/`single` are the implicit singular), styles (`watercolor`, `anime`, `pixel`, `sketch`…),
///   and attributes with common opposites (size, age, mood, time of day, weather, season, material…):
///   the same set on both sides;
/// - word order: when both prompts use exactly the same words (articles aside; comma-separated parts
///   may come in any order), they must say them in the same order, except for one swap of two
///   neighbours ("a fluffy white cat" / "a white fluffy cat") or of the two sides of an `and`.
///
/// The check costs microseconds, needs no model and never turns a miss into a hit: it can only veto.
public enum PromptGuard {
    /// Whether a cached image made for prompt `a` may be returned for prompt `b` (symmetric).
    public static func compatible(_ a: String, _ b: String) -> Bool {
        let left = Analysis(a)
        let right = Analysis(b)
        guard left.negated == right.negated,
            left.colours == right.colours,
            left.relations == right.relations,
            left.counts == right.counts,
            left.styles == right.styles,
            left.attributes == right.attributes
        else { return false }
        return left.sameOrder(as: right)
    }

    /// The reason two prompts are not ``compatible(_:_:)`` (`negation`, `colour`, `count`, `style`,
    /// `attribute`, `order`), or `nil` when they are. For reports and logs.
    public static func conflict(_ a: String, _ b: String) -> String? {
        let left = Analysis(a)
        let right = Analysis(b)
        if left.negated != right.negated { return "negation" }
        if left.colours != right.colours { return "colour" }
        if left.relations != right.relations { return "relation" }
        if left.counts != right.counts { return "count" }
        if left.styles != right.styles { return "style" }
        if left.attributes != right.attributes { return "attribute" }
        if !left.sameOrder(as: right) { return "order" }
        return nil
    }

    /// The lower-cased words of a prompt: letters, digits, apostrophes and inner hyphens (`snow-covered`
    /// is one word); `n't` becomes a separate `not`.
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        func flush() {
            var word = current
            current = ""
            while word.hasSuffix("-") || word.hasSuffix("'") { word.removeLast() }
            while word.hasPrefix("-") || word.hasPrefix("'") { word.removeFirst() }
            guard !word.isEmpty else { return }
            if word.hasSuffix("n't") {
                let stem = String(word.dropLast(3))
                words.append(stem == "ca" ? "can" : stem == "wo" ? "will" : stem)
                words.append("not")
            } else if word.hasSuffix("'s") {
                words.append(String(word.dropLast(2)))
            } else {
                words.append(word)
            }
        }
        for character in text.lowercased() {
            if character.isLetter || character.isNumber || character == "-" || character == "'" || character == "’" {
                current.append(character == "’" ? "'" : character)
            } else {
                flush()
            }
        }
        flush()
        return words
    }

    /// The word classes of one prompt.
    struct Analysis {
        var negated = false
        var colours: Set<String> = []
        var relations: Set<String> = []
        var counts: Set<String> = []
        var styles: Set<String> = []
        var attributes: Set<String> = []
        /// Content words in order, comma-separated parts sorted.
        var sequence: [String] = []
        /// Content words in the order written.
        var written: [String] = []

        init(_ prompt: String, words split: (String) -> [String] = PromptGuard.words) {
            var parts: [[String]] = []
            for part in prompt.split(whereSeparator: { ",;|\n".contains($0) }) {
                let words = split(String(part))
                for word in words {
                    if PromptGuard.negations.contains(word) { negated = true }
                    if let colour = PromptGuard.colours[word] { colours.insert(colour) }
                    if let relation = PromptGuard.relations[word] { relations.insert(relation) }
                    if let count = PromptGuard.counts[word] { counts.insert(count) }
                    if let count = Int(word), count != 1 { counts.insert(String(count)) }
                    if let style = PromptGuard.styles[word] { styles.insert(style) }
                    if let attribute = PromptGuard.attributes[word] { attributes.insert(attribute) }
                }
                let content = words.filter { !PromptGuard.fillers.contains($0) }
                if !content.isEmpty { parts.append(content) }
            }
            written = parts.flatMap { $0 }
            parts.sort { $0.joined(separator: " ") < $1.joined(separator: " ") }
            sequence = parts.flatMap { $0 }
        }

        /// Same order with the comma-separated parts sorted ("a cat, oil painting" / "oil painting, a cat")
        /// or as written ("a red apple, on a table" / "a red apple on a table").
        func sameOrder(as other: Analysis) -> Bool {
            PromptGuard.sameOrder(sequence, other.sequence) || PromptGuard.sameOrder(written, other.written)
        }
    }

    /// Equal unless both hold the same words in an order that differs by more than one swap of
    /// neighbours, a swap of the two sides of an `and`, or one word moved ("a melting ice cream cone" /
    /// "an ice cream cone melting"). Swapping the two ends of a relation ("a dog chasing a cat" /
    /// "a cat chasing a dog") is none of these.
    static func sameOrder(_ a: [String], _ b: [String]) -> Bool {
        guard a != b, a.count == b.count, a.sorted() == b.sorted() else { return true }
        guard let first = a.indices.first(where: { a[$0] != b[$0] }),
            let last = a.indices.last(where: { a[$0] != b[$0] })
        else { return true }
        let swapped = a[first] == b[last] && a[last] == b[first]
        if last - first == 1 && swapped { return true }
        if last - first == 2 && swapped && a[first + 1] == "and" && b[first + 1] == "and" { return true }
        let windowA = Array(a[first...last])
        let windowB = Array(b[first...last])
        let movedForward = Array(windowA.dropFirst()) + [windowA[0]]
        let movedBack = [windowA[windowA.count - 1]] + Array(windowA.dropLast())
        return windowB == movedForward || windowB == movedBack
    }

    static let fillers: Set<String> = [
        "a", "an", "the", "is", "are", "was", "be", "being", "its", "his", "her", "their", "this", "that",
        "these", "those", "very", "one", "single",
    ]

    static let negations: Set<String> = ["no", "not", "without", "never", "none", "nothing", "nobody", "neither", "nor", "nowhere"]

    static let colours: [String: String] = fold([
        "red": ["red", "crimson", "scarlet", "ruby"],
        "blue": ["blue", "navy", "azure", "cobalt", "turquoise"],
        "green": ["green", "emerald"],
        "yellow": ["yellow"],
        "orange": ["orange"],
        "purple": ["purple", "violet", "lilac", "lavender"],
        "pink": ["pink"],
        "brown": ["brown"],
        "black": ["black"],
        "white": ["white"],
        "gray": ["gray", "grey"],
        "silver": ["silver"],
        "gold": ["gold", "golden"],
        "blonde": ["blonde", "blond"],
        "colour": ["color", "colour", "colorful", "colourful", "colored", "coloured"],
        "monochrome": ["monochrome", "monochromatic"],
    ])

    /// Spatial words whose opposite changes the picture. `on`, `in`, `at` and `with` are left out: too common,
    /// and paraphrases drop them.
    static let relations: [String: String] = fold([
        // "on top of" and "at the bottom of" by their nouns, as "in front of" by `front`.
        "above": ["above", "over", "atop", "top"],
        "below": ["below", "under", "beneath", "underneath", "bottom"],
        "inside": ["inside", "within", "indoors"],
        "outside": ["outside", "outdoors"],
        "front": ["front"],
        "behind": ["behind"],
        // `up` is left out: it is mostly a particle ("close up", "lit up"); "climbing up" / "climbing down"
        // still differ by `down`.
        "down": ["down", "downstairs", "downhill", "downward", "downwards"],
        "upstairs": ["upstairs", "uphill", "upward", "upwards"],
        "left": ["left"],
        "right": ["right"],
    ])

    /// `a`, `one` and `single` are the implicit singular, so they name no count.
    static let counts: [String: String] = fold([
        "2": ["two", "pair", "couple", "both", "twin", "twins"],
        "3": ["three", "trio"],
        "4": ["four"],
        "5": ["five"],
        "6": ["six"],
        "7": ["seven"],
        "8": ["eight"],
        "9": ["nine"],
        "10": ["ten"],
        "11": ["eleven"],
        "12": ["twelve", "dozen"],
        "many": [
            "many", "several", "multiple", "few", "some", "lots", "dozens", "hundreds", "thousands", "crowd", "herd",
            "flock", "pack", "swarm", "group", "row", "bunch", "army", "fleet", "jam",
        ],
    ])

    static let styles: [String: String] = fold([
        "oil": ["oil"],
        "watercolor": ["watercolor", "watercolour", "watercolors", "watercolours"],
        "acrylic": ["acrylic"],
        "sketch": ["sketch", "sketched", "pencil", "graphite"],
        "charcoal": ["charcoal"],
        "crayon": ["crayon", "crayons"],
        "ink": ["ink"],
        "cartoon": ["cartoon", "cartoonish"],
        "anime": ["anime", "manga"],
        "comic": ["comic"],
        "pixel": ["pixel", "8-bit", "16-bit"],
        "3d": ["3d", "render", "rendered", "rendering", "cgi"],
        "lowpoly": ["low-poly", "poly"],
        "vector": ["vector"],
        "impressionist": ["impressionist", "impressionism"],
        "cubist": ["cubist", "cubism"],
        "surreal": ["surreal", "surrealist", "surrealism"],
        "minimalist": ["minimalist", "minimalism"],
        "renaissance": ["renaissance"],
        "baroque": ["baroque"],
        "victorian": ["victorian"],
        "cyberpunk": ["cyberpunk"],
        "steampunk": ["steampunk"],
        "ukiyo-e": ["ukiyo-e", "ukiyoe"],
        "pop": ["pop"],
        "stained": ["stained"],
        "mosaic": ["mosaic"],
        "origami": ["origami"],
        "claymation": ["claymation", "clay"],
        "macro": ["macro"],
        "gogh": ["gogh"],
        "picasso": ["picasso"],
        "monet": ["monet"],
        "rembrandt": ["rembrandt"],
        "dali": ["dali"],
        "vermeer": ["vermeer"],
    ])

    static let attributes: [String: String] = fold([
        "small": ["small", "little", "tiny", "mini", "miniature"],
        "big": ["big", "large", "huge", "giant", "enormous", "massive", "gigantic"],
        "tall": ["tall"],
        "short": ["short"],
        "old": ["old", "elderly", "aged", "ancient", "old-fashioned", "vintage", "antique", "rusty"],
        "young": ["young", "youthful"],
        "new": ["new", "brand-new"],
        "happy": ["happy", "joyful", "cheerful"],
        "sad": ["sad", "unhappy", "gloomy"],
        "angry": ["angry", "furious"],
        "smiling": ["smiling", "smile", "smiles", "laughing"],
        "crying": ["crying", "weeping", "tears"],
        "night": ["night", "nighttime", "midnight"],
        "day": ["day", "daytime", "noon", "midday"],
        "dusk": ["sunset", "dusk", "evening", "twilight"],
        "dawn": ["sunrise", "dawn", "morning"],
        "sunny": ["sunny", "sun", "sunshine", "sunlit"],
        "rain": ["rain", "rainy", "raining"],
        "snow": ["snow", "snowy", "snowing", "snow-covered"],
        "fog": ["fog", "foggy", "mist", "misty"],
        "storm": ["storm", "stormy", "thunderstorm"],
        "calm": ["calm"],
        "cold": ["cold", "frozen", "icy", "freezing"],
        "winter": ["winter", "wintry"],
        "summer": ["summer"],
        "autumn": ["autumn"],
        "spring": ["spring"],
        "fat": ["fat", "chubby", "plump"],
        "thin": ["thin", "skinny"],
        "clean": ["clean", "spotless"],
        "dirty": ["dirty", "messy"],
        "open": ["open"],
        "closed": ["closed", "shut"],
        "wood": ["wood", "wooden"],
        "metal": ["metal", "metallic", "steel", "iron"],
        "glass": ["glass"],
        "ceramic": ["ceramic", "porcelain"],
        "plastic": ["plastic"],
        "long-haired": ["long-haired"],
        "short-haired": ["short-haired"],
    ])

    private static func fold(_ classes: [String: [String]]) -> [String: String] {
        var table: [String: String] = [:]
        for (canonical, words) in classes {
            for word in words { table[word] = canonical }
        }
        return table
    }
}
