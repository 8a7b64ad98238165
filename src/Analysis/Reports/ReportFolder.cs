using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Replay.Analysis.Reports;

/// <summary>
/// A report folder as one unit (issue 15, item 6). A writer holds the folder's lock (<c>.NAME.lock</c> beside it, an
/// exclusive <c>flock</c> the kernel drops when the process dies), builds the new folder whole as a sibling
/// (<c>.NAME.PID.GUID.new</c>), then swaps it in with one <c>renameat2(RENAME_EXCHANGE)</c> and deletes the old one,
/// so a reader or a kill at any instant sees either the previous folder or the new one, never a mix. Files in the old
/// folder that the new one does not have (an HTML page, a <c>compare.parquet</c>) are carried over as hard links.
/// Where the file system cannot exchange, the old folder is first renamed aside and restored by the next writer if
/// the process died in between. Staging folders and temp files of dead processes are removed by the next writer.
/// A run that spills before it writes (timeline windows, <see cref="Scratch"/>) does so in a sibling
/// <c>.NAME.PID.GUID.scratch</c> folder, removed when the lock is released or, after a kill, by the next writer.
/// </summary>
public sealed class ReportFolder : IDisposable
{
    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;

    /// <summary>Folders this process holds, so a writer inside a locked run does not lock its own folder twice.</summary>
    private static readonly ConcurrentDictionary<string, ReportFolder> Held = new(StringComparer.Ordinal);

    private readonly FileStream _lock;
    private readonly string _parent;
    private readonly string _name;
    private string? _scratch;

    private ReportFolder(string dir, FileStream lockFile)
    {
        Dir = dir;
        _lock = lockFile;
        _parent = Path.GetDirectoryName(dir)!;
        _name = Path.GetFileName(dir);
    }

    /// <summary>The folder, as a full path.</summary>
    public string Dir { get; }

    /// <summary>
    /// Takes <paramref name="dir"/>'s lock, or throws a <see cref="ReportFolderBusyException"/> when another process
    /// holds it; then removes what dead writers left and restores a folder a dead writer had moved aside.
    /// </summary>
    public static ReportFolder Lock(string dir)
    {
        string full = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        if (Held.ContainsKey(full))
        {
            throw new InvalidOperationException($"This process already holds the lock of '{dir}'.");
        }

        string parent = Path.GetDirectoryName(full) ?? throw new ReportFolderBusyException($"Cannot write reports into the root folder '{dir}'.");
        Directory.CreateDirectory(parent);
        string lockPath = Path.Combine(parent, "." + Path.GetFileName(full) + ".lock");
        FileStream file;
        try
        {
            // FileShare.None is an exclusive flock(2) on Unix: released by the kernel however the holder ends.
            file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new ReportFolderBusyException(
                $"Another replay is writing the report folder '{dir}' (it holds '{lockPath}'); wait for it to finish or choose another --out.", e);
        }

        var folder = new ReportFolder(full, file);
        Held[full] = folder;
        folder.CleanUp();
        return folder;
    }

    /// <summary>
    /// Runs <paramref name="dir"/>'s write under its lock: the one this process already holds, else one taken for the
    /// duration.
    /// </summary>
    public static async Task ReplaceAsync(string dir, Func<string, Task> write)
    {
        string full = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        if (Held.TryGetValue(full, out ReportFolder? held))
        {
            await held.ReplaceAsync(write).ConfigureAwait(false);
            return;
        }

        using ReportFolder folder = Lock(dir);
        await folder.ReplaceAsync(write).ConfigureAwait(false);
    }

    /// <summary>Has <paramref name="write"/> fill a fresh staging folder, then swaps it in for <see cref="Dir"/>.</summary>
    public async Task ReplaceAsync(Func<string, Task> write)
    {
        string staging = Path.Combine(_parent, string.Create(CultureInfo.InvariantCulture, $".{_name}.{Environment.ProcessId}.{Guid.NewGuid():N}.new"));
        Directory.CreateDirectory(staging);
        try
        {
            await write(staging).ConfigureAwait(false);
            if (Directory.Exists(Dir))
            {
                CarryOver(Dir, staging);
                Swap(staging);
            }
            else
            {
                Directory.Move(staging, Dir);
            }
        }
        finally
        {
            DeleteQuietly(staging); // the old folder after an exchange, or what a failed write left
        }
    }

    /// <summary>
    /// A folder beside the report folder, made on first use, for what the run writes before the report (a replay's
    /// timeline windows): on the same file system, outside the report folder, gone with the lock.
    /// </summary>
    public string Scratch
    {
        get
        {
            if (_scratch is null)
            {
                _scratch = Path.Combine(_parent, string.Create(CultureInfo.InvariantCulture, $".{_name}.{Environment.ProcessId}.{Guid.NewGuid():N}.scratch"));
                Directory.CreateDirectory(_scratch);
            }

            return _scratch;
        }
    }

    public void Dispose()
    {
        if (_scratch is not null)
        {
            DeleteQuietly(_scratch);
        }

        Held.TryRemove(Dir, out _);
        _lock.Dispose();
    }

    /// <summary>Whether a process with id <paramref name="pid"/> runs on this machine (procfs).</summary>
    internal static bool IsAlive(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");

    /// <summary>The pid in a name <c>.NAME.PID.GUID.SUFFIX</c>, or null.</summary>
    internal static int? PidOf(string fileName, string name)
    {
        string prefix = "." + name + ".";
        if (!fileName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        string[] parts = fileName[prefix.Length..].Split('.');
        return parts.Length == 3 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int renameat2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    /// <summary>Exchanges <paramref name="staging"/> and <see cref="Dir"/> atomically where the kernel can, else moves the old one aside first.</summary>
    private void Swap(string staging)
    {
        if (OperatingSystem.IsLinux() && renameat2(AtFdCwd, staging, AtFdCwd, Dir, RenameExchange) == 0)
        {
            return; // staging now holds the old folder, which the caller deletes
        }

        string aside = Path.Combine(_parent, string.Create(CultureInfo.InvariantCulture, $".{_name}.{Environment.ProcessId}.{Guid.NewGuid():N}.old"));
        Directory.Move(Dir, aside);
        Directory.Move(staging, Dir);
        DeleteQuietly(aside);
    }

    /// <summary>Every file of <paramref name="from"/> the new folder lacks, hard-linked (copied where links fail) into it.</summary>
    private static void CarryOver(string from, string to)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(from))
        {
            string target = Path.Combine(to, Path.GetFileName(entry));
            if (Path.Exists(target) || Path.GetFileName(entry).EndsWith(".tmp", StringComparison.Ordinal))
            {
                continue;
            }

            if (Directory.Exists(entry))
            {
                Directory.CreateDirectory(target);
                CarryOver(entry, target);
            }
            else if (!OperatingSystem.IsLinux() || link(entry, target) != 0)
            {
                File.Copy(entry, target);
            }
        }
    }

    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int link(string oldPath, string newPath);

    /// <summary>With the lock held: staging and aside folders of dead writers go, a folder moved aside by a dead writer comes back, dead temp files go.</summary>
    private void CleanUp()
    {
        foreach (string entry in Directory.EnumerateDirectories(_parent, "." + _name + ".*"))
        {
            string fileName = Path.GetFileName(entry);
            if (PidOf(fileName, _name) is not int pid || IsAlive(pid) && pid != Environment.ProcessId)
            {
                continue;
            }

            if (fileName.EndsWith(".old", StringComparison.Ordinal) && !Directory.Exists(Dir))
            {
                Directory.Move(entry, Dir); // the writer died between moving the old folder aside and moving the new one in
            }
            else if (fileName.EndsWith(".new", StringComparison.Ordinal) || fileName.EndsWith(".old", StringComparison.Ordinal)
                || fileName.EndsWith(".scratch", StringComparison.Ordinal))
            {
                DeleteQuietly(entry);
            }
        }

        if (Directory.Exists(Dir))
        {
            foreach (string temp in Directory.EnumerateFiles(Dir, ".*.tmp"))
            {
                if (ReportWriter.TempOwner(Path.GetFileName(temp)) is not int pid || !IsAlive(pid))
                {
                    File.Delete(temp);
                }
            }
        }
    }

    private static void DeleteQuietly(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Another process holds a report folder's lock.</summary>
public sealed class ReportFolderBusyException : IOException
{
    public ReportFolderBusyException()
    {
    }

    public ReportFolderBusyException(string message)
        : base(message)
    {
    }

    public ReportFolderBusyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
