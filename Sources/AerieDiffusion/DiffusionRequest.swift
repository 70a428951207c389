/// One text-to-image request: what to draw and how (size, steps, guidance, seed, scheduler).
public struct DiffusionRequest: Sendable, Hashable, Codable {
    /// What the image should show.
    public var prompt: String
    /// What the image should not show (the unconditional half of classifier-free guidance; empty for none).
    public var negativePrompt: String
    /// Image width in pixels, a multiple of 8.
    public var width: Int
    /// Image height in pixels, a multiple of 8.
    public var height: Int
    /// Denoising steps (1–1000).
    public var steps: Int
    /// Classifier-free guidance scale; at or below 1 the negative prompt is not run (batch 1).
    public var guidance: Float
    /// The seed of numpy's `RandomState` that draws the initial latents (and Euler ancestral's noise).
    public var seed: UInt32
    /// The scheduler; `nil` uses the model's ``DiffusionPipeline/defaultScheduler``.
    public var scheduler: SchedulerKind?

    public init(
        prompt: String, negativePrompt: String = "", width: Int = 512, height: Int = 512, steps: Int = 20,
        guidance: Float = 7.5, seed: UInt32 = 0, scheduler: SchedulerKind? = nil
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.width = width
        self.height = height
        self.steps = steps
        self.guidance = guidance
        self.seed = seed
        self.scheduler = scheduler
    }
}
