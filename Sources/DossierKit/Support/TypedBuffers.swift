import Foundation

// Standard-library buffer accessors are `rethrows`, which erases typed errors. These keep them.

/// `Array.withUnsafeMutableBytes` with a typed-throwing body.
func withMutableBytes<R, E: Error>(
    _ array: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = array.withUnsafeMutableBytes { buffer in
        do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}

/// `withUnsafeBytes` of any contiguous bytes with a typed-throwing body.
func withBytes<R, E: Error>(
    _ bytes: some ContiguousBytes, _ body: (UnsafeRawBufferPointer) throws(E) -> R
) throws(E) -> R {
    let result: Result<R, E> = bytes.withUnsafeBytes { buffer in
        do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
    }
    return try result.get()
}
