import AerieDiffusion
import Testing

@Suite("Diffusion API")
struct DiffusionAPITests {
    @Test func schedulerNamesAreStable() {
        #expect(SchedulerKind.allCases.map(\.rawValue) == ["ddim", "pndm", "euler", "euler_ancestral"])
    }
}
