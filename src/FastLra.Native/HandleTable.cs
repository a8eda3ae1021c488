namespace FastLra.Native;

/// <summary>
/// The objects C holds, by handle. A handle is a slot number and that slot's generation
/// (generation &lt;&lt; SlotBits | slot + 1): freeing a slot bumps its generation, so a freed handle,
/// a second free, or a handle reused after its slot was given to someone else is refused, never
/// resolved to another caller's object. Lookups take no lock and allocate nothing (one reference
/// read of an immutable entry, so a concurrent free never shows a torn slot); creating and freeing
/// take a lock.
/// </summary>
internal static class HandleTable
{
    // 2^24 live objects at most; the remaining bits of a 64-bit handle count a slot's generations.
    private const int SlotBits = 24;
    private const int MaxSlots = 1 << SlotBits;

    private sealed class Entry(object target, ulong generation)
    {
        public readonly object Target = target;
        public readonly ulong Generation = generation;
    }

    private static readonly Lock s_lock = new();
    private static Entry?[] s_entries = new Entry?[16];
    private static ulong[] s_generations = new ulong[16];
    private static int[] s_freeSlots = new int[16];
    private static int s_freeCount;
    private static int s_used;

    /// <summary>A new handle for <paramref name="target"/>; 0 when the table is full.</summary>
    public static nint Add(object target)
    {
        lock (s_lock)
        {
            int slot;
            if (s_freeCount > 0)
            {
                slot = s_freeSlots[--s_freeCount];
            }
            else
            {
                if (s_used == MaxSlots) return 0;
                if (s_used == s_entries.Length) Grow();
                slot = s_used++;
            }
            ulong generation = ++s_generations[slot];
            // Published last: a lookup sees either no entry or the complete new one.
            Volatile.Write(ref s_entries[slot], new Entry(target, generation));
            return (nint)(long)((generation << SlotBits) | (uint)(slot + 1));
        }
    }

    /// <summary>The live object of <paramref name="handle"/> if it is a <typeparamref name="T"/>; otherwise null.</summary>
    public static T? Get<T>(nint handle)
        where T : class
    {
        var entry = Find(handle, Volatile.Read(ref s_entries));
        return entry?.Target as T;
    }

    /// <summary>Frees <paramref name="handle"/> if it is a live <typeparamref name="T"/> and returns its object; null (nothing changes) otherwise.</summary>
    public static T? Remove<T>(nint handle)
        where T : class
    {
        lock (s_lock)
        {
            if (Find(handle, s_entries)?.Target is not T target) return null;
            int slot = (int)((ulong)(long)handle & (MaxSlots - 1)) - 1;
            s_entries[slot] = null;
            s_freeSlots[s_freeCount++] = slot;
            return target;
        }
    }

    private static Entry? Find(nint handle, Entry?[] entries)
    {
        ulong bits = (ulong)(long)handle;
        long slot = (long)(bits & (MaxSlots - 1)) - 1;
        if (slot < 0 || slot >= entries.Length) return null;
        var entry = Volatile.Read(ref entries[slot]);
        return entry is not null && entry.Generation == bits >> SlotBits ? entry : null;
    }

    // Under the lock. Lookups holding the old array still find every entry that was live in it.
    private static void Grow()
    {
        int length = Math.Min(s_entries.Length * 2, MaxSlots);
        Array.Resize(ref s_generations, length);
        Array.Resize(ref s_freeSlots, length);
        var entries = new Entry?[length];
        Array.Copy(s_entries, entries, s_entries.Length);
        Volatile.Write(ref s_entries, entries);
    }
}
