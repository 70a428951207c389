import AerieText
import Testing

@Suite("Prompt guard")
struct PromptGuardTests {
    @Test(arguments: [
        ("a cat sitting on a windowsill", "A Cat Sitting On A Windowsill"),
        ("a fluffy white cat", "a white fluffy cat"),
        ("a cat and a dog", "a dog and a cat"),
        ("a cat, oil painting", "oil painting, a cat"),
        ("a street with no cars", "a street without any cars"),
        ("three apples on a table", "3 apples on a table"),
        ("a pair of shoes", "two shoes"),
        ("one cat on a sofa", "a cat on a sofa"),
        ("a tiny mouse", "a small mouse"),
        ("a deer in a misty forest", "a deer in a foggy forest"),
        ("a crimson rose", "a red rose"),
        ("a close up of a honey bee", "a close-up of a honeybee"),
        ("a rainbow over a green valley", "a rainbow above a green valley"),
        ("a girl reading under a tree", "a girl reading beneath a tree"),
        ("a grey cat", "a gray cat"),
        ("a dog chasing a cat", "a cat being chased by a dog"),
        ("a red apple, on a table", "a red apple on a table"),
        ("an ice cream cone melting in the sun", "a melting ice cream cone in the sun"),
        ("a vintage typewriter", "an old-fashioned typewriter"),
        ("", ""),
    ])
    func compatiblePrompts(_ a: String, _ b: String) {
        #expect(PromptGuard.compatible(a, b))
        #expect(PromptGuard.compatible(b, a))
        #expect(PromptGuard.conflict(a, b) == nil)
    }

    @Test(arguments: [
        ("a cat", "no cat", "negation"),
        ("a man wearing a hat", "a man not wearing a hat", "negation"),
        ("a dog that is barking", "a dog that isn't barking", "negation"),
        ("a red car", "a blue car", "colour"),
        ("a black and white photo of a car", "a photo of a car", "colour"),
        ("one cat", "two cats", "count"),
        ("two dogs", "5 dogs", "count"),
        ("a horse in a field", "a herd of horses in a field", "count"),
        ("a cat, oil painting", "a cat, watercolor", "style"),
        ("a castle, pixel art", "a castle", "style"),
        ("a small dog", "a big dog", "attribute"),
        ("a city street at night", "a city street during the day", "attribute"),
        ("a wooden chair", "a metal chair", "attribute"),
        ("a cat on a chair", "a cat under a chair", "relation"),
        ("a man climbing up a ladder", "a man climbing down a ladder", "relation"),
        ("a ball in front of a box", "a ball behind a box", "relation"),
        ("a dog chasing a cat", "a cat chasing a dog", "order"),
        ("a box on a table", "a table on a box", "order"),
        ("a book on top of a laptop", "a laptop on top of a book", "order"),
        ("a knight fighting a dragon, oil painting", "oil painting, a dragon fighting a knight", "order"),
        ("a red car next to a blue truck", "a blue car next to a red truck", "order"),
    ])
    func incompatiblePrompts(_ a: String, _ b: String, _ reason: String) {
        #expect(!PromptGuard.compatible(a, b))
        #expect(!PromptGuard.compatible(b, a))
        #expect(PromptGuard.conflict(a, b) == reason)
    }

    @Test func differentWordsAreLeftToTheEmbedding() {
        // The guard only vetoes on its word classes; other differences are the similarity's job.
        #expect(PromptGuard.compatible("a cat", "a dog"))
        #expect(PromptGuard.compatible("a cup of coffee", "a cup of tea"))
    }
}
