import Foundation
import Testing
@testable import IntermeshTrainer

/// `Socket.sendRate`: what the kernel measured of a connection's sending, the figure a member reports as its uplink.
@Suite struct SocketSendRateTests {
    static func info(acked: UInt64, busyMicroseconds: UInt64, length: Int = 232) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        for index in 0..<8 where length >= 176 {
            bytes[120 + index] = UInt8(truncatingIfNeeded: acked >> (8 * UInt64(index)))
            bytes[168 + index] = UInt8(truncatingIfNeeded: busyMicroseconds >> (8 * UInt64(index)))
        }
        return bytes
    }

    @Test(arguments: [
        // 4 Mbit/s: 50 kB acknowledged over 100 ms busy.
        (UInt64(50_000), UInt64(100_000), 232, 0.01, 500_000.0 as Double?),
        (1_000_000, 2_000_000, 232, 0.01, 500_000),
        // Busy for 4 ms: too short for the kernel's millisecond clock to time.
        (84_000, 4_000, 232, 0.01, nil),
        (84_000, 4_000, 232, 0, 21_000_000),
        (0, 100_000, 232, 0.01, nil),
        (50_000, 0, 232, 0, nil),
        // An older kernel's shorter struct has no busy time.
        (50_000, 100_000, 104, 0.01, nil),
    ])
    func rate(acked: UInt64, busy: UInt64, length: Int, minimumBusy: Double, expected: Double?) {
        #expect(Socket.sendRate(tcpInfo: Self.info(acked: acked, busyMicroseconds: busy, length: length), minimumBusy: minimumBusy) == expected)
    }

    @Test func theKernelReportsTCPInfoForARealConnection() throws {
        let listener = try Listener(port: 0, host: "127.0.0.1")
        defer { listener.close() }
        let client = try Socket.connect(host: "127.0.0.1", port: listener.port, timeout: 5)
        defer { client.close() }
        let server = try #require(listener.accept(timeout: 5))
        defer { server.close() }
        try client.send([UInt8](repeating: 7, count: 1 << 20))
        _ = try server.receive(exactly: 1 << 20)
        // Every byte sent is acknowledged (the last acknowledgement may still be on its way when receive returns).
        func acked() throws -> UInt64 {
            let info = try #require(client.tcpInfo())
            #expect(info.count >= 176)
            return (0..<8).reduce(UInt64(0)) { $0 | UInt64(info[120 + $1]) << (8 * UInt64($1)) }
        }
        let deadline = Date().addingTimeInterval(5)
        while try acked() < 1 << 20, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try acked() >= 1 << 20)
    }
}
