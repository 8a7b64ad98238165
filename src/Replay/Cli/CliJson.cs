using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Replay.Cli;

/// <summary>The shape of every <c>--json</c> listing the CLI prints: an indented array with one object per item.</summary>
internal static class CliJson
{
    /// <summary>The items as a JSON array; <paramref name="writeFields"/> writes one item's fields inside its object.</summary>
    public static string Array<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> writeFields, JavaScriptEncoder? encoder = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = encoder }))
        {
            w.WriteStartArray();
            foreach (var item in items)
            {
                w.WriteStartObject();
                writeFields(w, item);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The key a report row starts with, in the report files' column order: <c>trace</c>, <c>trace_sha256</c> (only
    /// where the row carries it: <paramref name="traceSha256"/> not null), <c>engine</c>, <c>profile</c>, <c>phase</c>.
    /// </summary>
    public static void WriteRowKey(Utf8JsonWriter w, string trace, string? traceSha256, string engine, string profile, string phase)
    {
        w.WriteString("trace", trace);
        if (traceSha256 is not null)
        {
            w.WriteString("trace_sha256", traceSha256);
        }

        w.WriteString("engine", engine);
        w.WriteString("profile", profile);
        w.WriteString("phase", phase);
    }
}
