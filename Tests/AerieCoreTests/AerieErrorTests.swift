import AerieCore
import Foundation
import Testing

@Suite struct AerieErrorTests {
    @Test func outOfSpaceIsRecognisedHoweverFoundationWrapsIt() {
        let posix = NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))
        // What FileHandle.write(contentsOf:) threw on a full tmpfs: Cocoa's out-of-space error over the POSIX one.
        let cocoa = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteOutOfSpaceError, userInfo: [NSUnderlyingErrorKey: posix])
        let wrapped = NSError(domain: NSCocoaErrorDomain, code: NSFileWriteUnknownError, userInfo: [NSUnderlyingErrorKey: posix])
        #expect(AerieError.isOutOfSpace(posix))
        #expect(AerieError.isOutOfSpace(cocoa))
        #expect(AerieError.isOutOfSpace(wrapped))
        #expect(!AerieError.isOutOfSpace(NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES))))
        #expect(!AerieError.isOutOfSpace(AerieError(.unavailable, "busy")))
        let full = AerieError.diskFull("/srv/aerie/objects")
        #expect(full.code == .insufficientStorage)
        #expect(full.message.contains("/srv/aerie/objects") && full.message.contains("Free some space"))
    }
}
