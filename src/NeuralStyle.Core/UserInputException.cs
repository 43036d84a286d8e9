namespace NeuralStyle;

/// <summary>
/// A problem with what the user gave us (a file, an option), stated in one sentence that names the input, what is
/// wrong and what to do. The command line prints the message alone and exits with code 2.
/// </summary>
public sealed class UserInputException : Exception
{
    /// <summary>Creates the exception with its one-sentence message.</summary>
    public UserInputException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and the underlying cause.</summary>
    public UserInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Throws a <see cref="UserInputException"/> with <paramref name="sentence"/> unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string sentence)
    {
        if (!condition)
        {
            throw new UserInputException(sentence);
        }
    }

    /// <summary>Creates an empty exception (required by the exception pattern).</summary>
    public UserInputException()
    {
    }
}
