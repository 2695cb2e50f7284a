import Foundation
import Testing
@testable import IntermeshControl

@Suite struct SlotRecordTests {
    /// A record stored before `replaced` existed still reads, as having replaced none.
    @Test func anOlderRecordReadsWithNoReplacedMembers() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        let old = #"{"launches":[1700000000],"quarantined":false,"lastMember":"m-1","lostMember":"m-0"}"#
        let record = try decoder.decode(SlotRecord.self, from: Data(old.utf8))
        #expect(record == SlotRecord(launches: [Date(timeIntervalSince1970: 1_700_000_000)], lastMember: "m-1", lostMember: "m-0"))
        #expect(record.replaced.isEmpty)
    }

    /// Each member replaced is kept once, the newest 16; a launch ends the slot's lost member but keeps them.
    @Test func replacedMembersAreKeptOnceAndBounded() {
        var record = SlotRecord()
        for index in 0..<20 { record.recordReplacing("m-\(index)") }
        record.recordReplacing("m-19")
        #expect(record.replaced == (4..<20).map { "m-\($0)" })
        #expect(record.lostMember == "m-19")
        record.recordLaunch(of: "m-20", at: Date())
        #expect(record.lostMember == nil && record.replaced.count == 16)
    }
}
